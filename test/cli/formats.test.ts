// `bulkhead check --format text|json|sarif|github`, several files, --strict and
// --json as an alias, through the compiled CLI. The SARIF is validated against
// the SARIF 2.1.0 JSON schema (draft-04) that the npm package @microsoft/jest-sarif
// ships (lib/schemas/sarif-2.1.0-rtm.5.json), with ajv's draft-04 class and ajv-formats (uri, uri-reference, date-time).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Ajv from "ajv-draft-04";
import addFormats from "ajv-formats";
import { describe, expect, test } from "vitest";
import { artifactUri } from "../../cli/formats";
import { rules } from "../../policies/ruleset";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const TWO = "test/fixtures/formats/two-qubes.yaml";
const INVALID = "test/fixtures/invalid/20-netvm-missing.yaml";
const CLEAN = "stacks/dev.yaml";
const ADVISORY_ONLY = "test/fixtures/violations/uplink-host-isolated-1.yaml";

async function bulkhead(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { cwd: root, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const WORK = 'work: AppVM "work" connects straight to NetVM "sys-net"; put a ProxyVM with netvm: sys-net in between and make it its netvm';
const SYS_NET =
  'sys-net: NetVM "sys-net" uplink is host bridge "br0", which shares L2 with the host; prefer uplink: { pci: [...] } (NIC passthrough) or { macvtap: { dev } }';

describe("violations carry the line of their qube", () => {
  test("json", async () => {
    const r = await bulkhead("check", "--format", "json", TWO);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { violations: unknown[] }).violations).toEqual([
      { policy: "uplink-host-isolated", level: "advisory", qube: "sys-net", path: "qubes.sys-net", line: 8, message: SYS_NET },
      { policy: "clients-behind-proxy", level: "mandatory", qube: "work", path: "qubes.work", line: 13, message: WORK },
    ]);
  });

  test("a host-wide finding points at host.memory", async () => {
    const r = await bulkhead("check", "--json", "test/fixtures/violations/memory-budget-1.yaml");
    const v = (JSON.parse(r.stdout) as { violations: { qube: string; path: string; line: number }[] }).violations;
    expect(v.map((x) => [x.qube, x.path])).toEqual([["dom0", "host.memory"]]);
    const lines = readFileSync(join(root, "test/fixtures/violations/memory-budget-1.yaml"), "utf8").split("\n");
    expect(lines[v[0].line - 1]).toMatch(/\bmemory: 1000\b/);
  });

  test("text", async () => {
    const r = await bulkhead("check", TWO);
    expect(r).toEqual({
      code: 1,
      stdout:
        `advisory uplink-host-isolated (sys-net, line 8): ${SYS_NET}\n` +
        `mandatory clients-behind-proxy (work, line 13): ${WORK}\n` +
        `${TWO}: FAILED: 2 qubes, 12 libvirt resources, 1 mandatory and 1 advisory violations\n`,
      stderr: "",
    });
  });
});

describe("--json is --format json; several files", () => {
  test("the alias prints the same object", async () => {
    const [a, b] = await Promise.all([bulkhead("check", "--json", TWO), bulkhead("check", "--format", "json", TWO)]);
    expect(a).toEqual(b);
  });

  test("several files: an array in the order given, the worst exit status", async () => {
    const r = await bulkhead("check", "--json", CLEAN, TWO, INVALID);
    expect(r.code).toBe(2);
    const reports = JSON.parse(r.stdout) as { layout: string; ok: boolean }[];
    expect(reports.map((x) => [x.layout, x.ok])).toEqual([
      [CLEAN, true],
      [TWO, false],
      [INVALID, false],
    ]);
    expect((await bulkhead("check", CLEAN, TWO)).code).toBe(1);
    expect((await bulkhead("check", CLEAN, ADVISORY_ONLY)).code).toBe(0);
  });

  test("--strict fails on advisories", async () => {
    expect((await bulkhead("check", ADVISORY_ONLY)).code).toBe(0);
    expect((await bulkhead("check", "--strict", ADVISORY_ONLY)).code).toBe(1);
    expect((await bulkhead("check", "--strict", CLEAN)).code).toBe(0);
    expect((await bulkhead("check", "--strict", INVALID)).code).toBe(2);
  });

  test("an unknown format is a usage error", async () => {
    const r = await bulkhead("check", "--format", "xml", TWO);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '--format <format>' argument 'xml' is invalid. Allowed choices are text, json, sarif, github.");
  });
});

describe("--format github: workflow commands for Actions annotations", () => {
  test("one line per finding, advisories as warnings, escaped", async () => {
    const r = await bulkhead("check", "--format", "github", TWO, INVALID);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      `::warning file=${TWO},line=8,title=bulkhead advisory%3A uplink-host-isolated::${SYS_NET}\n` +
        `::error file=${TWO},line=13,title=bulkhead mandatory%3A clients-behind-proxy::${WORK}\n` +
        `::error file=${INVALID},line=10,title=bulkhead%3A invalid layout (qubes.work.netvm)::qubes.work.netvm (line 10): "sys-nett" is not a qube; did you mean "sys-net"?\n`,
    );
    // The human summary still reaches the log.
    expect(r.stderr).toContain(`${TWO}: FAILED: 2 qubes`);
  });
});

describe("--format sarif", () => {
  const schema = JSON.parse(
    readFileSync(join(root, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json"), "utf8"),
  ) as object;
  // unicodeRegExp off: the schema's language-tag pattern is not valid with the u flag.
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);

  test("the 2-qube layout's SARIF is valid SARIF 2.1.0", async () => {
    const r = await bulkhead("check", "--format", "sarif", TWO);
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout) as unknown;
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("the validator rejects a broken log (the test can fail)", async () => {
    const log = JSON.parse((await bulkhead("check", "--format", "sarif", TWO)).stdout) as { runs: { results: { level: string }[] }[] };
    log.runs[0].results[0].level = "fatal";
    expect(validate(log)).toBe(false);
  });

  test("results: rule, level, message and location with the qube's line", async () => {
    const log = JSON.parse((await bulkhead("check", "--format", "sarif", TWO, INVALID)).stdout) as {
      version: string;
      runs: { tool: { driver: { name: string; rules: { id: string; properties: Record<string, unknown> }[] } }; results: unknown[] }[];
    };
    expect(log.version).toBe("2.1.0");
    const run = log.runs[0];
    const ids = run.tool.driver.rules.map((x) => x.id);
    expect(ids).toEqual(["invalid-layout", ...rules.map((x) => x.name)]);
    expect(run.results).toEqual([
      {
        ruleId: "uplink-host-isolated",
        ruleIndex: ids.indexOf("uplink-host-isolated"),
        level: "warning",
        message: { text: SYS_NET },
        locations: [{ physicalLocation: { artifactLocation: { uri: TWO }, region: { startLine: 8 } } }],
        properties: { qube: "sys-net", enforcementLevel: "advisory" },
      },
      {
        ruleId: "clients-behind-proxy",
        ruleIndex: ids.indexOf("clients-behind-proxy"),
        level: "error",
        message: { text: WORK },
        locations: [{ physicalLocation: { artifactLocation: { uri: TWO }, region: { startLine: 13 } } }],
        properties: { qube: "work", enforcementLevel: "mandatory" },
      },
      {
        ruleId: "invalid-layout",
        ruleIndex: 0,
        level: "error",
        message: { text: 'qubes.work.netvm (line 10): "sys-nett" is not a qube; did you mean "sys-net"?' },
        locations: [{ physicalLocation: { artifactLocation: { uri: INVALID }, region: { startLine: 10 } } }],
      },
    ]);
    const cbp = run.tool.driver.rules[ids.indexOf("clients-behind-proxy")];
    expect(cbp.properties).toEqual({ tags: ["bulkhead", "qubes", "network", "firewall"], precision: "very-high", "security-severity": "8.0" });
  });

  test("artifact URIs are relative to the working directory", () => {
    expect(artifactUri("/repo/stacks/my dev.yaml", "/repo")).toBe("stacks/my%20dev.yaml");
    expect(artifactUri("./stacks/dev.yaml", "/repo")).toBe("stacks/dev.yaml");
    expect(artifactUri("/elsewhere/x.yaml", "/repo")).toBe("file:///elsewhere/x.yaml");
  });
});
