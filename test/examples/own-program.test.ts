// examples/own-program, as a user of the package would have it: copied into a
// project directory outside the repository with bulkhead installed in its
// node_modules (a link to this checkout, what `npm install file:../..` makes),
// compiled with tsc against the package's `exports` (bulkhead/components,
// bulkhead/policies, their .d.ts), then previewed by the real engine with its own
// pack. A preview of a new stack only calls the provider's Check, so no libvirtd
// is needed: the URI points where nothing listens.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCaptured, type Result } from "../helpers/spawn";
import { engineEnv, NOWHERE, repo, skipReason } from "../policies/engine";

const example = path.join(repo, "examples", "own-program");
const reason = skipReason();

interface EngineEvent {
  policyEvent?: { policyName: string; enforcementLevel: string; message: string };
  policyAnalyzeSummaryEvent?: { passed?: string[]; failed?: string[] };
  policyAnalyzeStackSummaryEvent?: { passed?: string[]; failed?: string[] };
  diagnosticEvent?: { severity: string; message: string };
}

describe.skipIf(reason !== undefined)(`examples/own-program builds and previews with its pack${reason !== undefined ? ` (skipped: ${reason})` : ""}`, () => {
  let work = "";
  let project = "";
  let env: Record<string, string> = {};
  const run = (file: string, args: string[], cwd = project, extra: Record<string, string> = {}): Promise<Result> =>
    runCaptured(file, args, cwd, { ...env, ...extra });
  const pulumi = (...args: string[]) => run("pulumi", [...args, "--non-interactive"]);

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), "bulkhead-example-"));
    project = path.join(work, "project");
    fs.cpSync(example, project, { recursive: true });
    // node_modules as npm would lay it out: bulkhead itself plus what it and the example need.
    const modules = path.join(project, "node_modules");
    fs.mkdirSync(modules);
    fs.symlinkSync(repo, path.join(modules, "bulkhead"));
    for (const name of ["@pulumi", "@types", "typescript"]) fs.symlinkSync(path.join(repo, "node_modules", name), path.join(modules, name));
    env = await engineEnv(work);
  }, 300_000);

  afterAll(() => {
    if (work !== "") fs.rmSync(work, { recursive: true, force: true });
  });

  it("compiles against the package's exports", async () => {
    const tsc = await run(process.execPath, [path.join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"]);
    expect({ code: tsc.code, stdout: tsc.stdout, stderr: tsc.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(fs.existsSync(path.join(project, "dist", "index.js"))).toBe(true);
    expect(fs.existsSync(path.join(project, "dist", "policy", "index.js"))).toBe(true);
  }, 180_000);

  it("a bare import of the repository's internals is refused (only the exports are public)", async () => {
    const r = await run(process.execPath, ["-e", 'require("bulkhead/layout/load")']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  async function preview(stack: string): Promise<{ code: number | null; verdicts: string[]; ran: string[]; errors: string[] }> {
    const r = await run(
      "pulumi",
      ["preview", "--stack", stack, "--json", "--non-interactive", "--policy-pack", path.join(project, "policy")],
      project,
      { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" },
    );
    const events = r.stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as EngineEvent);
    return {
      code: r.code,
      verdicts: events.flatMap((e) => (e.policyEvent ? [`${e.policyEvent.enforcementLevel} ${e.policyEvent.policyName}`] : [])).sort(),
      ran: [
        ...new Set(
          events.flatMap((e) => [e.policyAnalyzeSummaryEvent, e.policyAnalyzeStackSummaryEvent].flatMap((x) => [...(x?.passed ?? []), ...(x?.failed ?? [])])),
        ),
      ].sort(),
      errors: events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message] : [])),
    };
  }

  async function stack(name: string, config: Record<string, string>): Promise<void> {
    const init = await pulumi("stack", "init", name);
    expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: `Created stack '${name}'\n` });
    for (const [key, value] of Object.entries({ uri: NOWHERE, ...config })) {
      const set = await pulumi("config", "set", "--stack", name, key, value);
      expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: "" });
    }
  }

  it("previews clean with its own pack, which runs bulkhead's policies with its own config", async () => {
    await stack("clean", {});
    const p = await preview("clean");
    expect({ code: p.code, verdicts: p.verdicts, errors: p.errors }).toEqual({ code: 0, verdicts: [], errors: [] });
    // Every policy but the one the pack disables ran.
    expect(p.ran).toContain("egress-filtered");
    expect(p.ran).toContain("memory-budget");
    expect(p.ran).not.toContain("uplink-host-isolated");
  }, 180_000);

  it("its `all: mandatory` makes memory-budget (advisory in bulkhead's pack) fail the preview", async () => {
    await stack("hungry", { workMemory: "1600" });
    const p = await preview("hungry");
    expect(p.verdicts).toEqual(["mandatory memory-budget"]);
    expect(p.code).not.toBe(0);
  }, 180_000);
});
