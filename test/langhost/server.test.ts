// The language host's gRPC surface, in process, through @pulumi/pulumi's own generated client.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as languageGrpcTypes from "@pulumi/pulumi/proto/language_grpc_pb";
import type * as pb from "@pulumi/pulumi/proto/language_pb";
import type * as pluginPb from "@pulumi/pulumi/proto/plugin_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Empty, grpc, language, languageGrpc } from "../../langhost/proto";
import { LanguageHost, LanguageRuntimeService } from "../../langhost/server";

let server: grpcTypes.Server;
let client: languageGrpcTypes.LanguageRuntimeClient;
let dir = "";

type Callback<Res> = (err: grpcTypes.ServiceError | null, res: Res) => void;

// Promisified unary call; the error (if any) is returned, not thrown, so tests compare it exactly.
function call<Res>(
  invoke: (cb: Callback<Res>) => unknown,
): Promise<{ err: { code: number; details: string } | null; res: Res | undefined }> {
  return new Promise((resolve) => {
    invoke((err, res) =>
      resolve({ err: err === null ? null : { code: err.code, details: err.details }, res: err === null ? res : undefined }),
    );
  });
}

function programInfo(programDirectory: string): pb.ProgramInfo {
  return new language.ProgramInfo()
    .setRootDirectory(programDirectory)
    .setProgramDirectory(programDirectory)
    .setEntryPoint(".")
    .setOptions(Struct.fromJavaScript({}));
}

beforeAll(async () => {
  // A program depending on one resource-plugin package and one plain package.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-langhost-"));
  const pkg = (sub: string, json: object): void => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.writeFileSync(path.join(dir, sub, "package.json"), JSON.stringify(json));
  };
  pkg(".", { name: "prog", dependencies: { "@acme/fake": "1.2.3", plain: "4.5.6" }, devDependencies: { dev: "7.0.0" } });
  pkg("node_modules/@acme/fake", { name: "@acme/fake", version: "1.2.3", pulumi: { resource: true, name: "fake" } });
  pkg("node_modules/plain", { name: "plain", version: "4.5.6" });
  pkg("node_modules/dev", { name: "dev", version: "7.0.0" });

  const host = new LanguageHost({ engineAddress: "", tracing: undefined, version: "9.8.7", nodePath: "/n/node" });
  server = new grpc.Server();
  server.addService(LanguageRuntimeService, host.implementation());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err !== null ? reject(err) : resolve(p),
    ),
  );
  client = new languageGrpc.LanguageRuntimeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  server?.forceShutdown();
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

describe("LanguageRuntime", () => {
  it("answers Handshake and GetPluginInfo", async () => {
    const hs = await call<pb.LanguageHandshakeResponse>((cb) =>
      client.handshake(new language.LanguageHandshakeRequest().setEngineAddress("127.0.0.1:9"), cb),
    );
    expect(hs.err).toBeNull();
    const info = await call<pluginPb.PluginInfo>((cb) => client.getPluginInfo(new Empty(), cb));
    expect(info.res?.getVersion()).toBe("9.8.7");
  });

  it("lists only resource-plugin packages as required", async () => {
    const r = await call<pb.GetRequiredPackagesResponse>((cb) =>
      client.getRequiredPackages(new language.GetRequiredPackagesRequest().setInfo(programInfo(dir)), cb),
    );
    expect(r.res?.getPackagesList().map((p) => p.toObject())).toEqual([
      {
        name: "fake",
        kind: "resource",
        version: "1.2.3",
        server: "",
        checksumsMap: [],
        parameterization: undefined,
        extension: undefined,
      },
    ]);
    const old = await call<pb.GetRequiredPluginsResponse>((cb) =>
      client.getRequiredPlugins(new language.GetRequiredPluginsRequest().setInfo(programInfo(dir)), cb),
    );
    expect(old.res?.getPluginsList().map((p) => [p.getName(), p.getKind(), p.getVersion()])).toEqual([
      ["fake", "resource", "1.2.3"],
    ]);
  });

  it("lists direct dependencies with installed versions", async () => {
    const r = await call<pb.GetProgramDependenciesResponse>((cb) =>
      client.getProgramDependencies(new language.GetProgramDependenciesRequest().setInfo(programInfo(dir)), cb),
    );
    expect(r.res?.getDependenciesList().map((d) => [d.getName(), d.getVersion()])).toEqual([
      ["@acme/fake", "1.2.3"],
      ["dev", "7.0.0"],
      ["plain", "4.5.6"],
    ]);
  });

  it("answers About with the node it runs", async () => {
    const r = await call<pb.AboutResponse>((cb) =>
      client.about(new language.AboutRequest().setInfo(programInfo(dir)), cb),
    );
    expect([r.res?.getExecutable(), r.res?.getVersion()]).toEqual(["/n/node", process.version]);
  });

  it("answers Cancel, and UNIMPLEMENTED for what it does not do", async () => {
    expect((await call<unknown>((cb) => client.cancel(new Empty(), cb))).err).toBeNull();
    expect((await call<pb.TemplateResponse>((cb) => client.template(new language.TemplateRequest(), cb))).err).toEqual({
      code: grpc.status.UNIMPLEMENTED,
      details: "The server does not implement the method template",
    });
  });

  it("reports a missing @pulumi/pulumi as a Run error", async () => {
    const r = await call<pb.RunResponse>((cb) =>
      client.run(new language.RunRequest().setPwd(dir).setMonitorAddress("127.0.0.1:1").setInfo(programInfo(dir)), cb),
    );
    expect(r.err?.code).toBe(grpc.status.INTERNAL);
    expect(r.err?.details.split("\n")[0]).toBe(`Cannot find module '@pulumi/pulumi/cmd/run'`);
  });
});
