// The Pulumi program as the engine runs it: compiled (package.json's main, dist/index.js, with
// Pulumi.yaml's `typescript: false`), in the project directory, without the SDK's per-resource
// debug messages, and never from a dist/ older than its sources.
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCaptured, type Result } from "./helpers/spawn";
import { engineEnv, makeProject, NOWHERE, repo, skipReason } from "./policies/engine";

// The SDK as the program loads it (CommonJS, not vitest's ES module view of it).
const programRequire = createRequire(path.join(repo, "index.ts"));

describe("the SDK internals index.ts replaces are where the pinned SDK has them", () => {
  it("Resource.stackTrace, the per-resource stack the SDK sends with each registration", () => {
    const { Resource } = programRequire("@pulumi/pulumi") as { Resource: { stackTrace?: unknown } };
    expect(typeof Resource.stackTrace).toBe("function");
  });

  it("log.debug, called through the log module's exports, which the SDK's index shares", () => {
    const log = programRequire("@pulumi/pulumi/log") as object;
    expect((programRequire("@pulumi/pulumi") as { log: object }).log).toBe(log);
    expect(Object.getOwnPropertyDescriptor(log, "debug")).toMatchObject({ writable: true });
  });
});


interface EngineEvent {
  diagnosticEvent?: { severity: string; message: string };
}

const reason = skipReason();

describe.skipIf(reason !== undefined)(`the compiled program under the engine${reason !== undefined ? ` (skipped: ${reason})` : ""}`, () => {
  let work = "";
  let env: Record<string, string> = {};

  function run(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Result> {
    return runCaptured("pulumi", [...args, "--non-interactive"], cwd, { ...env, ...extraEnv });
  }

  async function ok(args: string[], cwd: string): Promise<void> {
    const r = await run(args, cwd);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
  }

  /** A `pulumi preview --debug` of the stack: its exit code and diagnostics by severity. */
  async function preview(cwd: string, stack: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; debug: string[]; errors: string[] }> {
    const r = await run(["preview", "--stack", stack, "--json", "--debug"], cwd, { ...extraEnv, PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" });
    const diagnostics = r.stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .flatMap((l) => (JSON.parse(l) as EngineEvent).diagnosticEvent ?? []);
    const of = (severity: string): string[] => diagnostics.filter((d) => d.severity === severity).map((d) => d.message);
    return { code: r.code, debug: of("debug"), errors: of("error") };
  }

  const project = (): string => path.join(work, "project");
  const registrations = (debug: string[]): string[] => debug.filter((m) => m.startsWith("Registering resource: t=bulkhead:"));

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-program-"));
    makeProject(project());
    env = await engineEnv(work);
    // No bulkhead:layout: the program reads stacks/<stack>.yaml from its working directory.
    fs.mkdirSync(path.join(project(), "stacks"));
    fs.copyFileSync(path.join(repo, "stacks", "dev.yaml"), path.join(project(), "stacks", "dev.yaml"));
    await ok(["stack", "init", "dev"], project());
    await ok(["config", "set", "--stack", "dev", "bulkhead:uri", NOWHERE], project());
  }, 120_000);

  afterAll(() => {
    if (work !== "") fs.rmSync(work, { recursive: true, force: true });
  });

  it("runs dist/index.js in the project directory and sends the engine none of the SDK's per-resource debug messages", async () => {
    const r = await preview(project(), "dev");
    expect(r.errors).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.debug.some((m) => m.startsWith("Running program '") && m.includes(`${path.sep}dist${path.sep}index.js'`))).toBe(true);
    expect(registrations(r.debug)).toEqual([]);
  }, 180_000);

  it("sends them again with BULKHEAD_SDK_DEBUG=1", async () => {
    const r = await preview(project(), "dev", { BULKHEAD_SDK_DEBUG: "1" });
    expect(r.code).toBe(0);
    expect(registrations(r.debug).length).toBeGreaterThan(10);
  }, 180_000);

  it("resolves a dsthost name at deploy time: the preview shows the addresses and each rule's expiry", async () => {
    const dev = fs.readFileSync(path.join(repo, "stacks", "dev.yaml"), "utf8");
    const named = dev.replace(
      "      - { action: accept, proto: tcp, dstports: 80 }\n",
      "      - { action: accept, proto: tcp, dstports: 80, dsthost: localhost, expire: \"+3600\" }\n",
    );
    expect(named).not.toBe(dev);
    fs.writeFileSync(path.join(project(), "stacks", "names.yaml"), named);
    await ok(["stack", "init", "names"], project());
    await ok(["config", "set", "--stack", "names", "bulkhead:uri", NOWHERE], project());
    const before = Math.floor(Date.now() / 1000);
    const r = await run(["preview", "--stack", "names", "--json"], project(), { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" });
    expect(r.code).toBe(0);
    interface Pre { resourcePreEvent?: { metadata: { type: string; urn: string; new?: { inputs?: Record<string, unknown> } } } }
    const filter = r.stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Pre)
      .find((e) => e.resourcePreEvent?.metadata.type === "bulkhead:libvirt:NwFilter" && e.resourcePreEvent.metadata.urn.endsWith("::bulkhead-work-fw"));
    const inputs = filter?.resourcePreEvent?.metadata.new?.inputs as { hosts?: unknown; rules?: { match?: { dstipaddr?: string; comment?: string } }[] };
    expect(inputs.hosts).toEqual({ localhost: ["127.0.0.1/32"] });
    const web = (inputs.rules ?? []).filter((r) => r.match?.dstipaddr === "127.0.0.1");
    expect(web).toHaveLength(1);
    const expire = Number(/^\[expire (\d+) /.exec(web[0].match?.comment ?? "")?.[1]);
    expect(expire - before).toBeGreaterThanOrEqual(3600);
    expect(expire - before).toBeLessThan(3600 + 300);
  }, 180_000);

  it("refuses to run from a dist/ older than its sources, and names them", async () => {
    // A copy of the program whose index.ts was edited after the build.
    const stale = path.join(work, "stale");
    fs.mkdirSync(path.join(stale, "dist"), { recursive: true });
    fs.copyFileSync(path.join(repo, "dist", "index.js"), path.join(stale, "dist", "index.js"));
    for (const dir of ["components", "layout"]) fs.symlinkSync(path.join(repo, "dist", dir), path.join(stale, "dist", dir));
    for (const f of ["Pulumi.yaml", "package.json", "node_modules"]) fs.symlinkSync(path.join(project(), f), path.join(stale, f));
    fs.writeFileSync(path.join(stale, "index.ts"), "// edited\n");
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(stale, "index.ts"), later, later);
    await ok(["stack", "init", "stale"], stale);
    await ok(["config", "set", "--stack", "stale", "bulkhead:layout", path.join(repo, "stacks", "dev.yaml")], stale);

    const r = await preview(stale, "stale");
    expect(r.code).toBe(1);
    expect(r.errors.filter((m) => m.includes("npm run build"))).toEqual([
      "the compiled program in dist/ is older than index.ts: run `npm run build` and try again\n",
    ]);
  }, 180_000);
});
