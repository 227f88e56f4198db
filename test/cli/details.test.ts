// The CLI details of issue 14: `plan --json`, `graph` and `prove` surviving a
// closed pipe, `audit` and `ls` on a host without bulkhead domains, the
// qvm-ls and qvm-firewall listings, the prove matrix picture and `schema`.
// Through the compiled CLI where the behaviour is the process's; libvirt's own
// test driver (test:///default, one domain "test" without bulkhead metadata)
// stands for a host that holds nothing of bulkhead's.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Ajv2020 from "ajv/dist/2020";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { lsTable } from "../../cli/listing";
import { escapeHtml, matrixDot } from "../../prove/picture";
import { layoutJsonSchema } from "../../cli/schema";
import type { DomainArgs } from "../../libvirt/types";
import { compileResources } from "../../components/compile";
import { loadLayout } from "../../layout/load";
import { layoutSchema } from "../../layout/schema";
import { expectedFlows } from "../../prove/expected";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const tmp = mkdtempSync(join(tmpdir(), "bulkhead-details-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

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

/** Runs the CLI with its stdout closed before it writes anything (`| head` that already quit). */
function closedPipe(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a closed pipe (EPIPE) is not a crash", () => {
  test.each([
    [["graph", "stacks/dev.yaml"]],
    [["graph", "stacks/dev.yaml", "--format", "dot"]],
    [["prove", "--layout", "stacks/dev.yaml", "--expected"]],
    [["plan", "--json", "stacks/workstation.yaml"]],
  ])("%j", async (args) => {
    expect(await closedPipe(...args)).toEqual({ code: 0, stderr: "" });
  });
});

describe("bulkhead plan --json", () => {
  test("the resolved qubes and every libvirt resource with its owner and inputs", async () => {
    const r = await bulkhead("plan", "--json", "stacks/dev.yaml");
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      layout: string;
      qubes: { name: string }[];
      resources: { type: string; name: string; qube: string | null; inputs: Record<string, unknown> }[];
    };
    expect(plan.layout).toBe("stacks/dev.yaml");
    expect(plan.qubes.map((q) => q.name)).toEqual(loadLayout("stacks/dev.yaml").qubes.map((q) => q.name));
    expect(plan.resources.length).toBe(31);
    expect(plan.resources.filter((x) => x.qube === "work").map((x) => [x.type, x.name])).toEqual([
      ["bulkhead:libvirt:Domain", "dev-work"],
      ["bulkhead:libvirt:NwFilter", "dev-work-fw"],
      ["bulkhead:libvirt:Volume", "dev-work-private.qcow2"],
      ["bulkhead:libvirt:Volume", "dev-work-seed.iso"],
    ]);
    const domain = plan.resources.find((x) => x.name === "dev-work");
    expect(domain?.inputs.memory).toBe(160);
  });
});

describe("a host without bulkhead domains", () => {
  test("audit says so and exits 2", async () => {
    expect(await bulkhead("audit", "--uri", "test:///default")).toEqual({
      code: 2,
      stdout: "",
      stderr: "bulkhead audit: no bulkhead domains on test:///default, so there is nothing to audit; check --uri and --prefix (a layout's host.prefix)\n",
    });
  });

  test("ls says so and exits 2", async () => {
    const r = await bulkhead("ls", "--uri", "test:///default", "--prefix", "dev-");
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: 'bulkhead ls: no bulkhead domains whose name starts with "dev-" on test:///default, so there is nothing to list; check --uri and --prefix (a layout\'s host.prefix)\n',
    });
  });
});

describe("bulkhead ls: qvm-ls columns", () => {
  test("one row per bulkhead domain, by name, Running or Halted", () => {
    const domains = compileResources(loadLayout("stacks/dev.yaml"))
      .filter((r) => r.type === "bulkhead:libvirt:Domain")
      .map((r) => r.inputs as unknown as DomainArgs)
      .map((d) => ({ ...d, running: d.name === "dev-sys-net" }));
    expect(lsTable(domains)).toBe(
      [
        "NAME          STATE    CLASS       LABEL   TEMPLATE  NETVM",
        "dvm           Halted   AppVM       red     lab       sys-firewall",
        "lab           Halted   TemplateVM  black   -         -",
        "personal      Halted   AppVM       yellow  lab       sys-firewall",
        "sys-firewall  Halted   ProxyVM     green   lab       sys-net",
        "sys-net       Running  NetVM       red     lab       -",
        "untrusted     Halted   DispVM      red     dvm       sys-firewall",
        "vault         Halted   AppVM       black   lab       -",
        "work          Halted   AppVM       blue    lab       sys-firewall",
        "",
      ].join("\n"),
    );
  });
});

describe("bulkhead firewall: qvm-firewall list", () => {
  test("a qube's rules in order, then the implicit drop", async () => {
    expect(await bulkhead("firewall", "stacks/dev.yaml", "work")).toEqual({
      code: 0,
      stdout: [
        "NO  ACTION  HOST  PROTOCOL  PORT(S)  SPECIAL TARGET  ICMP TYPE  COMMENT",
        "0   accept  -     -         -        dns             -          -",
        "1   accept  -     tcp       80       -               -          -",
        "2   accept  -     icmp      -        -               8          -",
        "then: drop (the implicit final rule: whatever no rule accepts is dropped)",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  test("an offline qube, and a name that is no qube", async () => {
    expect((await bulkhead("firewall", "stacks/dev.yaml", "vault")).stdout).toBe(
      "vault has no netvm: it has no network interface, so no rule applies (everything is blocked)\n",
    );
    const r = await bulkhead("firewall", "stacks/dev.yaml", "wrok");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('bulkhead firewall: "wrok" is not a qube of stacks/dev.yaml (its qubes: sys-net, vault, sys-firewall, dvm, personal, work, untrusted)\n');
  });
});

describe("the prove picture is a from/to matrix", () => {
  const layout = loadLayout("stacks/dev.yaml");
  const flows = expectedFlows(layout);

  test("one table: a header row and one row per source, cells coloured by verdict", () => {
    const dot = matrixDot(layout, flows, false);
    expect((dot.match(/<TR>/g) ?? []).length).toBe(1 + 8);
    expect(dot).toContain('<TR><TD BGCOLOR="#ffffff"><B>work</B></TD>');
    expect(dot).toContain('<TD BGCOLOR="#fce94f">icmp,tcp/80</TD>');
    // No edges: the hairball is gone.
    expect(dot).not.toContain("->");
  });

  test("a differing cell is red and marked", () => {
    const observed = flows.map((f) => ({ ...f, observed: f.expect, why: "", id: `${f.from}-${f.to}` }));
    const i = observed.findIndex((f) => f.from === "work" && f.to === "vault");
    observed[i] = { ...observed[i], observed: "pass" };
    const dot = matrixDot(layout, observed as never, true);
    expect(dot).toContain('<TD BGCOLOR="#ef2929"><B>');
    expect(dot).toMatch(/<B>[a-z/0-9,]+!<\/B>/);
  });

  test("text is escaped for the HTML-like label", () => {
    expect(escapeHtml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&#39;");
  });

  test("prove --expected -o draws it offline", async () => {
    const out = join(tmp, "expected.svg");
    const r = await bulkhead("prove", "--layout", "stacks/dev.yaml", "--expected", "-o", out);
    expect(r.code).toBe(0);
    const svg = readFileSync(out, "utf8");
    expect(svg.startsWith("<?xml")).toBe(true);
    // Graphviz writes "-" as &#45;.
    for (const q of ["sys-net", "sys-firewall", "work", "untrusted", "internet", "dns"]) expect(svg).toContain(`>${q.replace(/-/g, "&#45;")}</text>`);
  });
});

describe("bulkhead schema", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(layoutJsonSchema());
  const yaml = (file: string): unknown => parse(readFileSync(join(root, file), "utf8"));

  test("prints zod's JSON Schema of the layout, titled", async () => {
    const r = await bulkhead("schema");
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(printed.title).toBe("bulkhead layout, version 1");
    expect(printed.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const { title: _t, description: _d, ...rest } = printed;
    expect(rest).toEqual(z.toJSONSchema(layoutSchema, { io: "input", unrepresentable: "any" }));
  });

  test("every stack and violation fixture (valid layouts) validates", () => {
    const violations = readdirSync(join(root, "test/fixtures/violations")).filter((f) => f.endsWith(".yaml"));
    for (const file of ["stacks/dev.yaml", "stacks/workstation.yaml", ...violations.map((f) => `test/fixtures/violations/${f}`)]) {
      expect([file, validate(yaml(file)), validate.errors ?? []]).toEqual([file, true, []]);
    }
  });

  test("a mistyped class, an unknown key and a bad label do not", () => {
    for (const file of ["17-unknown-class.yaml", "11-unknown-top-key.yaml", "18-unknown-label.yaml"]) {
      expect([file, validate(yaml(`test/fixtures/invalid/${file}`))]).toEqual([file, false]);
    }
  });
});
