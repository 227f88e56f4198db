// The ready-made pipelines: .github/workflows/preview.yml linted with actionlint
// (built from the Go module proxy by scripts/actionlint.sh, cached outside the
// repo; a failed build fails this test), and ci/bulkhead.gitlab-ci.yml held to
// GitLab's job keywords by a structural test (no GitLab CI schema ships in an npm
// package that runs on Node 20 without native builds), its scripts to `bash -n`.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";

const root = join(__dirname, "..", "..");
const WORKFLOW = join(root, ".github", "workflows", "preview.yml");
const GITLAB = join(root, "ci", "bulkhead.gitlab-ci.yml");
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), "bulkhead-ci-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function exec(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

type Obj = Record<string, unknown>;

describe("GitHub: .github/workflows/preview.yml", () => {
  let actionlint = "";
  beforeAll(async () => {
    const built = await exec("bash", [join(root, "scripts", "actionlint.sh")]);
    expect({ code: built.code, stderr: built.code === 0 ? "" : built.stderr }).toEqual({ code: 0, stderr: "" });
    actionlint = built.stdout.trim();
  }, 600_000);

  // shellcheck and pyflakes are not installed here: their integrations are turned off by name
  // rather than skipped silently; actionlint still checks syntax, expressions, action inputs.
  const lint = (file: string) => exec(actionlint, ["-no-color", "-oneline", "-shellcheck=", "-pyflakes=", file]);

  test("actionlint finds nothing", async () => {
    expect(await lint(WORKFLOW)).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("actionlint does catch a broken copy (the lint can fail)", async () => {
    const broken = join(tmp, "broken.yml");
    writeFileSync(broken, readFileSync(WORKFLOW, "utf8").replace("policyPacks: policies", "policyPack: policies"));
    const r = await lint(broken);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('input "policyPack" is not defined in action "pulumi/actions@v6"');
  });

  test("check uploads SARIF and annotates; preview runs the pack and comments", () => {
    const wf = parse(readFileSync(WORKFLOW, "utf8")) as { jobs: Record<string, { steps: Obj[]; permissions: Obj }> };
    const check = wf.jobs.check.steps;
    const sarif = check.find((s) => String(s.run ?? "").includes("--format sarif"));
    expect(sarif?.run).toBe('bin/bulkhead check --format sarif stacks/*.yaml > bulkhead.sarif || test "$?" -le 2');
    const upload = check.find((s) => String(s.uses ?? "").startsWith("github/codeql-action/upload-sarif@"));
    expect((upload?.with as Obj).sarif_file).toBe("bulkhead.sarif");
    expect(check.indexOf(upload as Obj)).toBeGreaterThan(check.indexOf(sarif as Obj));
    expect(check.at(-1)?.run).toBe("bin/bulkhead check --format github stacks/*.yaml");
    expect(wf.jobs.check.permissions["security-events"]).toBe("write");
    const pulumi = wf.jobs.preview.steps.find((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
    expect(pulumi?.with).toMatchObject({ command: "preview", policyPacks: "policies", "comment-on-pr": true });
    expect(wf.jobs.preview.permissions["pull-requests"]).toBe("write");
  });
});

// GitLab CI keywords (docs.gitlab.com/ee/ci/yaml): the global ones and those of a job.
const GLOBAL = new Set(["stages", "include", "variables", "default", "workflow", "image", "services", "cache", "before_script", "after_script"]);
const JOB = new Set([
  "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage", "dependencies", "environment",
  "extends", "hooks", "id_tokens", "image", "inherit", "interruptible", "needs", "parallel", "release", "resource_group",
  "retry", "rules", "script", "secrets", "services", "stage", "tags", "timeout", "trigger", "variables", "when",
]);
const ARTIFACTS = new Set(["paths", "exclude", "expire_in", "expose_as", "name", "public", "reports", "untracked", "when"]);
const RULE = new Set(["if", "changes", "exists", "when", "allow_failure", "variables", "needs"]);

describe("GitLab: ci/bulkhead.gitlab-ci.yml (structural)", () => {
  const doc = parse(readFileSync(GITLAB, "utf8")) as Obj;
  const jobs = Object.entries(doc).filter(([k]) => !GLOBAL.has(k)) as [string, Obj][];
  const stages = doc.stages as string[];

  test("only GitLab keywords, at every level", () => {
    expect(jobs.map(([k]) => k)).toEqual([".bulkhead-node", "bulkhead-check", "bulkhead-preview"]);
    for (const [name, job] of jobs) {
      expect([name, Object.keys(job).filter((k) => !JOB.has(k))]).toEqual([name, []]);
      if (job.artifacts !== undefined) expect(Object.keys(job.artifacts as Obj).filter((k) => !ARTIFACTS.has(k))).toEqual([]);
      for (const rule of (job.rules ?? []) as Obj[]) expect(Object.keys(rule).filter((k) => !RULE.has(k))).toEqual([]);
    }
  });

  test("stages, extends and needs refer to what exists; real jobs have a script", () => {
    const names = new Set(jobs.map(([k]) => k));
    for (const [name, job] of jobs) {
      if (job.stage !== undefined) expect(stages).toContain(job.stage);
      if (job.extends !== undefined) expect(names.has(job.extends as string)).toBe(true);
      for (const need of (job.needs ?? []) as string[]) expect(names.has(need)).toBe(true);
      if (!name.startsWith(".")) {
        expect(Array.isArray(job.script) && (job.script as unknown[]).every((l) => typeof l === "string")).toBe(true);
      }
    }
  });

  test("every script is valid bash", async () => {
    for (const [name, job] of jobs) {
      const lines = [...((job.before_script ?? []) as string[]), ...((job.script ?? []) as string[])];
      if (lines.length === 0) continue;
      const file = join(tmp, `${name}.sh`);
      writeFileSync(file, lines.join("\n") + "\n");
      expect([name, await exec("bash", ["-n", file])]).toEqual([name, { code: 0, stdout: "", stderr: "" }]);
    }
  });

  test("check keeps the SARIF and fails on a violation; preview runs the pack and comments", () => {
    const byName = Object.fromEntries(jobs);
    const check = byName["bulkhead-check"].script as string[];
    expect(check).toEqual([
      'bin/bulkhead check --format sarif stacks/*.yaml > bulkhead.sarif || test "$?" -le 2',
      "bin/bulkhead check stacks/*.yaml",
    ]);
    const preview = (byName["bulkhead-preview"].script as string[]).join("\n");
    expect(preview).toContain("pulumi preview --policy-pack policies --non-interactive");
    expect(preview).toContain("/merge_requests/$CI_MERGE_REQUEST_IID/notes");
    expect(preview.trimEnd().endsWith('exit "$code"')).toBe(true);
  });
});
