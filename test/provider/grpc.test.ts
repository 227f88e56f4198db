// The plugin as the engine sees it: bin/pulumi-resource-bulkhead prints its
// port, then answers the ResourceProvider gRPC service.
import { ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/provider_pb";
import { cleanupPrefix, exists, labUri, testPrefix, urn } from "../helpers/libvirt";

const root = join(__dirname, "..", "..");
const prefix = testPrefix("grpc");
let uri = "";
let plugin: ChildProcess | undefined;
let client: ResourceProviderClient;

/** Calls a unary method and resolves to its response. */
function call<Req, Res>(method: unknown, req: Req): Promise<Res> {
  const fn = method as (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown;
  return new Promise((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

function struct(v: object): Struct {
  return Struct.fromJavaScript(v as Parameters<typeof Struct.fromJavaScript>[0]);
}

beforeAll(async () => {
  uri = await labUri();
  // dist/ is compiled by the global setup (test/setup/build.ts).
  if (!existsSync(join(root, "dist", "provider", "main.js"))) throw new Error("dist/provider/main.js was not built");
  plugin = spawn(join(root, "bin", "pulumi-resource-bulkhead"), [], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    plugin!.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    plugin!.on("exit", (code) => reject(new Error(`plugin exited with ${code}`)));
  });
  client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 240_000);

afterAll(async () => {
  client?.close();
  plugin?.kill("SIGTERM");
  await cleanupPrefix(uri, prefix);
});

describe("the bulkhead plugin over gRPC", () => {
  it("serves Configure, Check, Diff, Create, Read and Delete for a real NwFilter", async () => {
    const name = `${prefix}fw`;
    const u = urn("NwFilter", name);
    const inputs = {
      uri,
      name,
      rules: [{ action: "drop", direction: "out", priority: 500, protocol: "tcp", match: { dstportstart: 25 } }],
    };

    const conf = await call<pb.ConfigureRequest, pb.ConfigureResponse>(client.configure, new pb.ConfigureRequest());
    expect(conf.getAcceptsecrets()).toBe(true);

    const check = await call<pb.CheckRequest, pb.CheckResponse>(client.check, new pb.CheckRequest().setUrn(u).setOlds(struct({})).setNews(struct({ ...inputs, chain: 7 })));
    expect(check.getFailuresList().map((f) => [f.getProperty(), f.getReason()])).toEqual([
      ["chain", "Invalid input: expected string, received number"],
    ]);
    const good = await call<pb.CheckRequest, pb.CheckResponse>(client.check, new pb.CheckRequest().setUrn(u).setOlds(struct({})).setNews(struct(inputs)));
    expect([good.getFailuresList(), good.getInputs()?.toJavaScript()]).toEqual([[], inputs]);

    const created = await call<pb.CreateRequest, pb.CreateResponse>(client.create, new pb.CreateRequest().setUrn(u).setProperties(struct(inputs)));
    const id = created.getId();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.getProperties()?.toJavaScript()).toEqual(inputs);
    expect(await exists(uri, "nwfilter", name)).toBe(true);

    const read = await call<pb.ReadRequest, pb.ReadResponse>(client.read, new pb.ReadRequest().setId(id).setUrn(u).setProperties(struct(inputs)));
    expect([read.getId(), read.getProperties()?.toJavaScript(), read.getInputs()?.toJavaScript()]).toEqual([id, inputs, inputs]);

    const same = await call<pb.DiffRequest, pb.DiffResponse>(client.diff, new pb.DiffRequest().setId(id).setUrn(u).setOlds(struct(inputs)).setNews(struct(inputs)));
    expect([same.getChanges(), same.getReplacesList(), same.getDeletebeforereplace()]).toEqual([pb.DiffResponse.DiffChanges.DIFF_NONE, [], false]);
    const renamed = await call<pb.DiffRequest, pb.DiffResponse>(
      client.diff,
      new pb.DiffRequest().setId(id).setUrn(u).setOlds(struct(inputs)).setNews(struct({ ...inputs, name: `${prefix}other` })),
    );
    expect([renamed.getChanges(), renamed.getReplacesList(), renamed.getDeletebeforereplace()]).toEqual([
      pb.DiffResponse.DiffChanges.DIFF_SOME,
      ["name"],
      true,
    ]);

    await call<pb.DeleteRequest, Empty>(client.delete, new pb.DeleteRequest().setId(id).setUrn(u).setProperties(struct(inputs)));
    expect(await exists(uri, "nwfilter", name)).toBe(false);
    const gone = await call<pb.ReadRequest, pb.ReadResponse>(client.read, new pb.ReadRequest().setId(id).setUrn(u).setProperties(struct(inputs)));
    expect(gone.getId()).toBe("");
  });

  it("reports a failed create as a gRPC error carrying virsh's message", async () => {
    const u = urn("NwFilter", "clean-traffic");
    const req = new pb.CreateRequest().setUrn(u).setProperties(struct({ uri, name: "clean-traffic", rules: [] }));
    await expect(call<pb.CreateRequest, pb.CreateResponse>(client.create, req)).rejects.toThrow("nwfilter clean-traffic already exists on the host");
  });
});
