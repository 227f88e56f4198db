// End to end: the real Pulumi engine (built by scripts/engine.sh) runs a toy TypeScript program
// and a policy pack through bulkhead's language host, on a local file backend in a temp dir.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { runCaptured, type Result } from "../helpers/spawn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..", "..");
const toy = path.join(__dirname, "toy");

function engineCache(): string {
  const goMod = fs.readFileSync(path.join(repo, "engine", "go.mod"), "utf8");
  const m = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v\S+)/.exec(goMod);
  if (m === null) throw new Error("engine/go.mod pins no github.com/pulumi/pulumi/pkg/v3");
  const base = process.env["BULKHEAD_CACHE"] ?? path.join(os.homedir(), ".cache", "bulkhead");
  return path.join(base, `engine-${m[1]}`);
}

// Building the CLI takes minutes, so the test only uses an engine that is already there.
function skipReason(): string | undefined {
  if (!fs.existsSync(path.join(engineCache(), "pulumi"))) {
    return `no Pulumi CLI in ${engineCache()}: run scripts/engine.sh first`;
  }
  if (!fs.existsSync(path.join(repo, "dist", "langhost", "main.js"))) {
    return "dist/langhost/main.js is missing: run npx tsc -p tsconfig.build.json first";
  }
  return undefined;
}
const reason = skipReason();


interface EngineEvent {
  policyEvent?: { policyName: string; enforcementLevel: string; resourceUrn: string; message: string };
  diagnosticEvent?: { severity: string; message: string };
}

let work = "";
let engineDir = "";
let env: Record<string, string> = {};

function run(file: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Result> {
  return runCaptured(file, args, cwd, { ...env, ...extraEnv });
}

const project = (): string => path.join(work, "project");
const policy = (): string => path.join(work, "policy");
const pulumi = (...args: string[]): Promise<Result> =>
  run(path.join(engineDir, "pulumi"), [...args, "--non-interactive"], project());

// Streaming JSON gives the engine's own events, so policy results can be compared exactly.
async function previewEvents(...args: string[]): Promise<{ code: number | null; events: EngineEvent[] }> {
  const r = await run(
    path.join(engineDir, "pulumi"),
    ["preview", "--json", "--non-interactive", ...args],
    project(),
    { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" },
  );
  const events = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EngineEvent);
  return { code: r.code, events };
}

const policyResults = (events: EngineEvent[]): string[] =>
  events
    .flatMap((e) => (e.policyEvent ? [e.policyEvent] : []))
    .map((p) => `${p.enforcementLevel} ${p.policyName} ${p.resourceUrn} ${JSON.stringify(p.message)}`)
    .sort();

const errors = (events: EngineEvent[]): string[] =>
  events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message] : []));

const urn = (typeAndName: string): string => `urn:pulumi:dev::toy::${typeAndName}`;

describe.skipIf(reason !== undefined)(
  `the Pulumi engine runs programs and policy packs through bulkhead's language host${
    reason !== undefined ? ` (skipped: ${reason})` : ""
  }`,
  () => {
    beforeAll(async () => {
      // engine.sh is instant when the CLI is cached; it (re)writes the plugin wrappers.
      const { stdout } = await promisify(execFile)(path.join(repo, "scripts", "engine.sh"), [], {
        env: { ...process.env, PATH: process.env["PATH"] ?? "" },
      });
      engineDir = stdout.trim();
      work = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-engine-"));
      for (const dir of ["project", "policy"]) {
        fs.cpSync(path.join(toy, dir), path.join(work, dir), { recursive: true });
        fs.symlinkSync(path.join(repo, "node_modules"), path.join(work, dir, "node_modules"));
      }
      // Only the local backend and nothing from the user's ~/.pulumi or the web.
      env = Object.fromEntries(
        Object.entries(process.env).filter(
          (kv): kv is [string, string] => kv[1] !== undefined && !kv[0].startsWith("PULUMI_"),
        ),
      );
      Object.assign(env, {
        PATH: `${engineDir}${path.delimiter}${process.env["PATH"] ?? ""}`,
        PULUMI_HOME: path.join(work, "home"),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "toy",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      });
      fs.mkdirSync(path.join(work, "state"));
    }, 120_000);

    afterAll(() => {
      if (work !== "") fs.rmSync(work, { recursive: true, force: true });
    });

    it("creates the stack and deploys the component, the dynamic resource and the output", async () => {
      expect((await pulumi("stack", "init", "dev")).code).toBe(0);
      expect((await pulumi("config", "set", "size", "20")).code).toBe(0);

      const up = await pulumi("up", "--yes");
      expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: "" });

      const out = await pulumi("stack", "output", "--json");
      expect(JSON.parse(out.stdout)).toEqual({ label: "box:40" });

      const exported = JSON.parse((await pulumi("stack", "export")).stdout) as {
        deployment: { resources: { type: string; urn: string; id?: string; outputs?: Record<string, unknown> }[] };
      };
      const counter = exported.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/toy:Counter");
      expect(exported.deployment.resources.map((r) => r.type)).toEqual([
        "pulumi:pulumi:Stack",
        "toy:index:Box",
        "pulumi:providers:pulumi-nodejs",
        "pulumi-nodejs:dynamic/toy:Counter",
      ]);
      expect({ id: counter?.id, start: counter?.outputs?.["start"], value: counter?.outputs?.["value"] }).toEqual({
        id: "counter-20",
        start: 20,
        value: 40,
      });
    }, 180_000);

    it("previews no changes on the unchanged program", async () => {
      const r = await pulumi("preview", "--expect-no-changes");
      expect(r.code).toBe(0);
    }, 180_000);

    it("reports an advisory violation without failing the preview", async () => {
      const r = await previewEvents("--policy-pack", policy());
      expect(r.code).toBe(0);
      expect(policyResults(r.events)).toEqual([
        `advisory box-size-small ${urn("toy:index:Box::box")} "Boxes stay at size 10 or below.\\nsize 20 is above 10\\n"`,
      ]);
      expect(errors(r.events)).toEqual([]);
    }, 180_000);

    it("fails the preview on a mandatory violation", async () => {
      expect((await pulumi("config", "set", "size", "21")).code).toBe(0);
      const r = await previewEvents("--policy-pack", policy());
      expect((await pulumi("config", "set", "size", "20")).code).toBe(0);
      expect(r.code).toBe(1);
      expect(policyResults(r.events)).toEqual([
        `advisory box-size-small ${urn("toy:index:Box::box")} "Boxes stay at size 10 or below.\\nsize 21 is above 10\\n"`,
        `mandatory counter-start-even ${urn(
          "toy:index:Box$pulumi-nodejs:dynamic/toy:Counter::box-counter",
        )} "Counters start at an even number.\\nstart 21 is odd\\n"`,
      ]);
      expect(errors(r.events)).toEqual(["preview failed\n"]);
    }, 180_000);

    it("reports a program's own exit code, and only bails when the program reported its error", async () => {
      expect((await pulumi("config", "set", "fail", "exit")).code).toBe(0);
      const exited = await previewEvents();
      expect((await pulumi("config", "set", "fail", "throw")).code).toBe(0);
      const threw = await previewEvents();
      expect((await pulumi("config", "rm", "fail")).code).toBe(0);

      expect(exited.code).toBe(1);
      expect(errors(exited.events)).toEqual([
        "an unhandled error occurred: Program exited with non-zero exit code: 3\n",
      ]);
      expect(threw.code).toBe(1);
      // @pulumi/pulumi printed the error itself; the engine adds no "unhandled error" of its own.
      expect(errors(threw.events).filter((m) => m.startsWith("an unhandled error occurred"))).toEqual([]);
      expect(errors(threw.events).filter((m) => m.includes("Error: toy failure"))).toHaveLength(1);
    }, 180_000);

    it("destroys everything", async () => {
      const r = await pulumi("destroy", "--yes");
      expect(r.code).toBe(0);
      expect(JSON.parse((await pulumi("stack", "output", "--json")).stdout)).toEqual({});
      const exported = JSON.parse((await pulumi("stack", "export")).stdout) as {
        deployment: { resources?: unknown[] };
      };
      expect(exported.deployment.resources ?? []).toEqual([]);
    }, 180_000);
  },
);
