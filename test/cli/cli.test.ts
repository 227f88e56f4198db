// The `bulkhead` command as a user runs it: a child process of the compiled
// build, judged by exit status, stdout and stderr.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const shim = join(root, "bin", "bulkhead");
const invalidDir = join(root, "test", "fixtures", "invalid");
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

function bulkhead(args: string[], program = cli): Promise<Run> {
  return runNode([program, ...args]);
}

async function runNode(args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, args, { cwd: root, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const STACK_FRAME = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe("bulkhead check", () => {
  test("a valid layout: exact JSON, exit 0", async () => {
    const r = await bulkhead(["check", "--json", "stacks/dev.yaml"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      layout: "stacks/dev.yaml",
      ok: true,
      errors: [],
      violations: [],
      summary: { qubes: 7, resources: 31, mandatory: 0, advisory: 0 },
    });
  });

  test("the workstation layout counts its qubes and resources", async () => {
    const r = await bulkhead(["check", "--json", "stacks/workstation.yaml"]);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { summary: unknown }).summary).toEqual({ qubes: 8, resources: 34, mandatory: 0, advisory: 0 });
  });

  test("text report on stdout", async () => {
    const r = await bulkhead(["check", "stacks/dev.yaml"]);
    expect(r).toEqual({
      code: 0,
      stdout: "stacks/dev.yaml: ok: 7 qubes, 31 libvirt resources, 0 mandatory and 0 advisory violations\n",
      stderr: "",
    });
  });

  test("an invalid layout: path and line on stderr, exit 2", async () => {
    const r = await bulkhead(["check", "test/fixtures/invalid/20-netvm-missing.yaml"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "test/fixtures/invalid/20-netvm-missing.yaml: invalid layout\n" +
        '  qubes.work.netvm (line 10): "sys-nett" is not a qube; did you mean "sys-net"?\n' +
        "1 error; nothing was simulated\n",
    });
  });

  test("a missing file is an invalid layout, not a crash", async () => {
    const r = await bulkhead(["check", "--json", "no/such/layout.yaml"]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      layout: "no/such/layout.yaml",
      ok: false,
      errors: [{ path: "", line: null, message: 'cannot read "no/such/layout.yaml": no such file' }],
      violations: [],
      summary: { qubes: 0, resources: 0, mandatory: 0, advisory: 0 },
    });
  });

  test("a directory is refused with one line, no stack trace", async () => {
    const r = await bulkhead(["check", "stacks"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('stacks: invalid layout\n  cannot read "stacks": not a regular file\n1 error; nothing was simulated\n');
  });
});

describe("bulkhead check on every invalid fixture", () => {
  const expected = JSON.parse(readFileSync(join(invalidDir, "expected.json"), "utf8")) as Record<
    string,
    { path: string; line: number | null; messageIncludes: string }
  >;
  const files = readdirSync(invalidDir).filter((f) => f.endsWith(".yaml")).sort();

  test("every fixture has an expectation", () => {
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  // Concurrent: each run is a separate process, mostly waiting on Node's startup.
  test.concurrent.for(files)("%s: exit 2, errors[0] has the expected path and line", async (file, { expect }) => {
    const r = await bulkhead(["check", "--json", `test/fixtures/invalid/${file}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout) as { ok: boolean; errors: { path: string; line: number | null; message: string }[] };
    expect(report.ok).toBe(false);
    expect(report.errors[0].path).toBe(expected[file].path);
    expect(report.errors[0].line).toBe(expected[file].line);
    expect(report.errors[0].message).toContain(expected[file].messageIncludes);
    expect(r.stdout).not.toMatch(STACK_FRAME);
  });
});

describe("bulkhead plan", () => {
  test("dev.yaml: the qubes table and the libvirt objects", async () => {
    const r = await bulkhead(["plan", "stacks/dev.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    const qubesAt = lines.indexOf("Qubes (1 template, 7 qubes):");
    expect(lines.slice(0, qubesAt)).toEqual(["Layout stacks/dev.yaml on qemu:///system (qemu, pool bulkhead-dev)", ""]);
    expect(lines.slice(qubesAt + 1, qubesAt + 10)).toEqual([
      "NAME          CLASS       TEMPLATE  NETVM         LABEL   MEMORY   ADDRESS       SERVES         FIREWALL",
      "lab           TemplateVM  -         -             black   160 MiB  -             -              -",
      "sys-net       NetVM       lab       -             red     160 MiB  -             10.137.1.0/24  -",
      "vault         AppVM       lab       -             black   160 MiB  -             -              -",
      "sys-firewall  ProxyVM     lab       sys-net       green   160 MiB  10.137.1.25   10.137.0.0/24  accept all",
      "dvm           AppVM       lab       sys-firewall  red     160 MiB  10.137.0.35   -              accept all",
      "personal      AppVM       lab       sys-firewall  yellow  160 MiB  10.137.0.125  -              accept all",
      "work          AppVM       lab       sys-firewall  blue    160 MiB  10.137.0.252  -              dns, tcp/80, icmp type 8, drop rest",
      "untrusted     DispVM      dvm       sys-firewall  red     160 MiB  10.138.0.202  -              accept all",
    ]);
    const objectsAt = lines.indexOf("libvirt objects to create (31):");
    expect(objectsAt).toBe(qubesAt + 11);
    const objects = lines.slice(objectsAt + 1).filter((l) => l !== "");
    expect(objects[0]).toBe("KIND      NAME                            QUBE");
    expect(objects.slice(1, 4)).toEqual([
      "Pool      bulkhead-dev                    -",
      "Network   dev-sys-firewall-clients        sys-firewall",
      "Network   dev-sys-net-clients             sys-net",
    ]);
    expect(objects.filter((l) => l.startsWith("Domain "))).toEqual([
      "Domain    dev-dvm                         dvm",
      "Domain    dev-lab                         lab",
      "Domain    dev-personal                    personal",
      "Domain    dev-sys-firewall                sys-firewall",
      "Domain    dev-sys-net                     sys-net",
      "Domain    dev-untrusted                   untrusted",
      "Domain    dev-vault                       vault",
      "Domain    dev-work                        work",
    ]);
    expect(objects.length).toBe(32);
  });

  test("an invalid layout: errors on stderr, exit 2", async () => {
    const r = await bulkhead(["plan", "test/fixtures/invalid/20-netvm-missing.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('  qubes.work.netvm (line 10): "sys-nett" is not a qube; did you mean "sys-net"?\n');
  });
});

describe("bulkhead graph", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bulkhead-graph-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const nodeIds = ["template:lab", ...["sys-net", "sys-firewall", "work", "personal", "vault", "dvm", "untrusted"].map((q) => `qube:${q}`)];

  test("-o writes an SVG naming every template and qube", async () => {
    const out = join(dir, "dev.svg");
    const r = await bulkhead(["graph", "stacks/dev.yaml", "-o", out]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const svg = readFileSync(out, "utf8");
    expect(svg.startsWith("<?xml")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const titles = [...svg.matchAll(/<g id="node\d+" class="node">\n<title>([^<]*)<\/title>/g)].map((m) => m[1].replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))));
    expect(titles.filter((t) => t.startsWith("template:") || t.startsWith("qube:")).sort()).toEqual([...nodeIds].sort());
  });

  test("without -o the SVG goes to stdout", async () => {
    const r = await bulkhead(["graph", "stacks/dev.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("<svg");
    expect(r.stdout).toContain(">work</text>");
  });

  test("--format dot prints the DOT text", async () => {
    const r = await bulkhead(["graph", "--format", "dot", "stacks/dev.yaml"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe('digraph "bulkhead" {');
    expect(r.stdout).toContain('  "qube:sys-firewall" -> "qube:work" [label="dev-sys-firewall-clients", penwidth="1.5"];\n');
  });

  test("an unwritable output is one line on stderr, exit 2", async () => {
    const r = await bulkhead(["graph", "stacks/dev.yaml", "-o", join(dir, "no", "such", "dir.svg")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bulkhead graph: cannot write ${JSON.stringify(join(dir, "no", "such", "dir.svg"))}: ENOENT\n`);
  });
});

describe("common behaviour", () => {
  test("--version", async () => {
    expect(await bulkhead(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });

  test("--help lists the commands", async () => {
    const r = await bulkhead(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: bulkhead \[options\] \[command\]/);
    for (const cmd of ["check", "plan", "graph"]) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
  });

  test.each([
    [["check"], "error: missing required argument 'layouts'"],
    [["frobnicate"], "error: unknown command 'frobnicate'"],
    [["graph", "stacks/dev.yaml", "--format", "png"], "error: option '--format <format>' argument 'png' is invalid. Allowed choices are svg, dot."],
  ])("usage error %j exits 2", async (args, message) => {
    const r = await bulkhead(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe(message);
  });

  test("an unexpected exception is one line naming the command, exit 2", async () => {
    // Stands in a plan module that throws, through Node's module cache.
    const script = `
      const p = require.resolve(${JSON.stringify(join(root, "dist", "components", "compile.js"))});
      require.cache[p] = { id: p, filename: p, loaded: true, exports: { compileResources: () => { throw new Error("boom\\nmore"); } } };
      require(${JSON.stringify(cli)}).main(["node", "bulkhead", "check", "stacks/dev.yaml"]);`;
    const r = await runNode(["-e", script]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: "bulkhead check: internal error: boom (a bug in bulkhead; rerun with BULKHEAD_DEBUG=1 for details)\n",
    });
  });

  test("bin/bulkhead runs the build", async () => {
    expect(await bulkhead(["--version"], shim)).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });
});
