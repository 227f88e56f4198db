// The violation corpus (test/fixtures/violations) through the compiled
// `bulkhead check --json`: each layout reports exactly the { policy, qube }
// pairs of expected.json, with the exit status the levels imply. Every file
// goes through the CLI's own `main` in one child process (a fresh process per
// file costs a second of Pulumi imports); a few also run as separate commands.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { rules } from "../../policies/pack";
import { isLoopback } from "../../policies/rules/no-remote-display";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const corpus = join(root, "test", "fixtures", "violations");
const STACKS = ["stacks/dev.yaml", "stacks/workstation.yaml"];

interface Pair {
  policy: string;
  qube: string;
}
interface Report {
  layout: string;
  ok: boolean;
  errors: unknown[];
  violations: (Pair & { level: string; message: string })[];
  summary: { qubes: number; resources: number; mandatory: number; advisory: number };
}
interface Run {
  code: number;
  report: Report;
}

const expected = JSON.parse(readFileSync(join(corpus, "expected.json"), "utf8")) as Record<string, Pair[]>;
const files = Object.keys(expected);
const levelOf = new Map(rules.map((r) => [r.name, r.enforcementLevel]));
const policyNames = rules.map((r) => r.name);

const byPolicyThenQube = (a: Pair, b: Pair): number =>
  a.policy !== b.policy ? (a.policy < b.policy ? -1 : 1) : a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0;
const pairs = (r: Report): Pair[] => r.violations.map((v) => ({ policy: v.policy, qube: v.qube })).sort(byPolicyThenQube);
/** What the pack's levels make of a list of findings: 1 when any is mandatory. */
const exitFor = (ps: Pair[]): number => (ps.some((p) => levelOf.get(p.policy) === "mandatory") ? 1 : 0);

// ---- running the CLI -------------------------------------------------------

const execFileAsync = promisify(execFile);

async function node(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, args, { cwd: root, maxBuffer: 64 << 20 });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "" };
  }
}

/** `bulkhead check <file> --json` as its own process. */
async function checkCommand(file: string): Promise<Run> {
  const r = await node([cli, "check", file, "--json"]);
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

/**
 * Runs the CLI's `main` once per file in one process, capturing what it
 * prints and the exit status it sets, exactly as the command would.
 */
const BATCH = `
const { main } = require(process.argv[1]);
(async () => {
  const write = process.stdout.write.bind(process.stdout);
  const runs = [];
  for (const file of process.argv.slice(2)) {
    let out = "";
    process.stdout.write = (chunk) => { out += chunk; return true; };
    process.exitCode = undefined;
    try {
      await main([process.execPath, "bulkhead", "check", file, "--json"]);
    } finally {
      process.stdout.write = write;
    }
    runs.push({ file, code: process.exitCode ?? 0, stdout: out });
  }
  process.exitCode = 0;
  write(JSON.stringify(runs));
})();
`;

async function checkBatch(paths: string[]): Promise<Map<string, Run>> {
  const r = await node(["-e", BATCH, cli, ...paths]);
  expect(r.code).toBe(0);
  const runs = JSON.parse(r.stdout) as { file: string; code: number; stdout: string }[];
  return new Map(runs.map((x) => [x.file, { code: x.code, report: JSON.parse(x.stdout) as Report }]));
}

// ---- the tests -------------------------------------------------------------

let batch = new Map<string, Run>();
const separate = new Map<string, Run>();
// One mandatory-only, one advisory-only, one mixed, plus the stacks, as standalone commands.
const SEPARATE = ["clients-behind-proxy-1.yaml", "uplink-host-isolated-1.yaml", "memory-budget-3.yaml"];

beforeAll(async () => {
  const paths = [...files.map((f) => `test/fixtures/violations/${f}`), ...STACKS];
  const [b, ...single] = await Promise.all([
    checkBatch(paths),
    ...[...SEPARATE.map((f) => `test/fixtures/violations/${f}`), ...STACKS].map(async (p) => [p, await checkCommand(p)] as const),
  ]);
  batch = b;
  for (const [p, run] of single) separate.set(p, run);
});

describe("the corpus itself", () => {
  test("expected.json lists exactly the YAML files of the directory", () => {
    const yaml = readdirSync(corpus).filter((f) => f.endsWith(".yaml")).sort();
    expect([...files].sort()).toEqual(yaml);
  });

  test("each file is named <policy>-<n>.yaml, says what it breaks, and breaks it", () => {
    for (const file of files) {
      const m = /^([a-z-]+)-(\d+)\.yaml$/.exec(file);
      expect(m, file).not.toBeNull();
      const policy = (m as RegExpExecArray)[1];
      expect(policyNames, file).toContain(policy);
      expect(readFileSync(join(corpus, file), "utf8").startsWith(`# ${policy}`), file).toBe(true);
      expect(expected[file].map((p) => p.policy), file).toContain(policy);
      expect([...expected[file]].sort(byPolicyThenQube), file).toEqual(expected[file]);
    }
  });

  test("every policy has two fixtures, or the README says why no layout triggers it", () => {
    const readme = readFileSync(join(corpus, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Policies a layout cannot trigger"));
    const untriggerable = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]).sort();
    expect(untriggerable).toEqual(["client-port-isolation", "disposable-stateless", "egress-filtered", "host-off-qube-networks", "offline-means-no-nic", "root-from-template"]);
    const fixtures = (policy: string) => files.filter((f) => f.startsWith(`${policy}-`) && /^\d+\.yaml$/.test(f.slice(policy.length + 1)));
    for (const policy of policyNames) {
      if (untriggerable.includes(policy)) expect(fixtures(policy), policy).toEqual([]);
      else expect(fixtures(policy).length, policy).toBeGreaterThanOrEqual(2);
    }
  });
});

describe("bulkhead check on the corpus", () => {
  test.each(files)("%s", (file) => {
    const run = batch.get(`test/fixtures/violations/${file}`) as Run;
    expect(run.report.errors).toEqual([]);
    expect(pairs(run.report)).toEqual(expected[file]);
    for (const v of run.report.violations) expect([v.policy, v.level]).toEqual([v.policy, levelOf.get(v.policy)]);
    const mandatory = expected[file].filter((p) => levelOf.get(p.policy) === "mandatory").length;
    expect(run.report.summary.mandatory).toBe(mandatory);
    expect(run.report.summary.advisory).toBe(expected[file].length - mandatory);
    expect(run.report.ok).toBe(mandatory === 0);
    expect(run.code).toBe(exitFor(expected[file]));
  });

  test("both stacks report no violation", () => {
    for (const stack of STACKS) {
      const run = batch.get(stack) as Run;
      expect([stack, run.code, run.report.ok, run.report.violations]).toEqual([stack, 0, true, []]);
    }
  });

  test("standalone commands agree with the batch, exit status included", () => {
    expect(separate.size).toBe(SEPARATE.length + STACKS.length);
    for (const [path, run] of separate) expect(run, path).toEqual(batch.get(path));
    expect(separate.get("test/fixtures/violations/clients-behind-proxy-1.yaml")?.code).toBe(1);
    expect(separate.get("test/fixtures/violations/uplink-host-isolated-1.yaml")?.code).toBe(0);
    expect(separate.get("test/fixtures/violations/memory-budget-3.yaml")?.code).toBe(1);
    for (const stack of STACKS) expect(separate.get(stack)?.code).toBe(0);
  });
});

// Regression for a fix in no-remote-display: loopback written in IPv6 forms the
// loader or a live host produce was reported as a remote display.
describe("no-remote-display loopback forms", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["localhost", true],
    ["", false],
    ["0.0.0.0", false],
    ["::", false],
    ["::2", false],
    ["fe80::1", false],
    ["::ffff:c0a8:10a", false],
    ["::ffff:10.0.0.1", false],
    ["::ffff:0:7f00:1", false],
    ["1:2:3:4:5:6:7:8:9", false],
  ] as const)("%s -> %s", (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});
