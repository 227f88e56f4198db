// `bulkhead check` at the size limits (issue 12: linear checks): a valid 5,000-qube layout,
// and hostile layouts up to the loader's 1 MiB that used to take minutes (misspelt names
// against a thousand candidates, thousands of AppVMs straight on NetVMs, a long ProxyVM
// chain, one device given to thousands of qubes, a million YAML syntax errors, misspelt keys
// everywhere). Each is timed as a whole `bulkhead check`
// process; no lab needed. Part of `npm run bench`, and alone:
//
//   node dist/bench/check.js
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { execResult } from "../libvirt/exec";
import { MAX_LAYOUT_BYTES } from "../layout/source";

export interface CheckCase {
  name: string;
  /** The goal: at most this many seconds. */
  limitS: number;
  /** bulkhead check's exit status this layout must give (0 valid, 1 violations, 2 invalid). */
  exit: 0 | 1 | 2;
  yaml: string;
}

export interface CheckRow {
  name: string;
  bytes: number;
  qubes: number;
  exit: number;
  expectedExit: number;
  seconds: number;
  /** The check process's own CPU time (user + system), when measured. */
  cpuS?: number;
  /** The host's 1-minute load average when the check started. */
  load?: number;
  limitS: number;
}

const HEAD = `version: 1
host: { prefix: "chk-", pool: chk, poolPath: /var/lib/libvirt/chk, domainType: qemu }
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
defaults: { template: debian-12 }
qubes:
  sys-net: { class: NetVM, uplink: { network: default } }
`;

const pad = (i: number) => String(i).padStart(4, "0");

/** 5,000 qubes: 25 ProxyVMs behind one NetVM, 199 AppVMs behind each, each with two rules. */
export function validLayout(qubes = 5000): string {
  const proxies = 25;
  const lines = [HEAD];
  for (let p = 0; p < proxies; p++) lines.push(`  fw${pad(p)}: { class: ProxyVM, netvm: sys-net }\n`);
  for (let i = 0; i < qubes - proxies - 1; i++) {
    lines.push(`  app${pad(i)}: { class: AppVM, netvm: fw${pad(i % proxies)}, firewall: [{ action: accept, specialtarget: dns }, { action: accept, proto: tcp, dstports: 443 }] }\n`);
  }
  return lines.join("");
}

/** Appends `line(i)` until the next would pass 1 MiB or `line` gives "". */
function fill(head: string, line: (i: number) => string): string {
  const parts = [head];
  let bytes = Buffer.byteLength(head);
  for (let i = 0; ; i++) {
    const l = line(i);
    if (l === "") break;
    bytes += Buffer.byteLength(l);
    if (bytes > MAX_LAYOUT_BYTES) break;
    parts.push(l);
  }
  return parts.join("");
}

/** 999 ProxyVMs (the hint's candidate cap is 1,000) and AppVMs naming each one misspelt, to 1 MiB. */
export function misspeltNetvms(): string {
  let head = HEAD;
  for (let p = 0; p < 999; p++) head += `  prx${pad(p)}: { class: ProxyVM, netvm: sys-net }\n`;
  return fill(head, (i) => `  a${i}: { class: AppVM, netvm: prx${pad(i % 999)}x }\n`);
}

/** As many AppVMs straight on NetVMs as 1 MiB holds (253 per NetVM): clients-behind-proxy on each. */
export function clientsOnNetvms(): string {
  let head = HEAD;
  for (let n = 0; n < 40; n++) head += `  net${pad(n)}: { class: NetVM, uplink: { network: default } }\n`;
  return fill(head, (i) => (i < 40 * 253 ? `  a${i}: { class: AppVM, netvm: net${pad(i % 40)} }\n` : ""));
}

/** A ProxyVM chain as long as 1 MiB holds: loops, ordering and numbering (too many providers: exit 2). */
export function longChain(): string {
  return fill(HEAD, (i) => `  p${i}: { class: ProxyVM, netvm: ${i === 0 ? "sys-net" : `p${i - 1}`} }\n`);
}

/** One PCI device given to every qube 1 MiB holds (device-exclusive names the others). */
export function oneDeviceEverywhere(): string {
  return fill(HEAD, (i) => `  a${i}: { class: AppVM, netvm: null, devices: { pci: ["0000:03:00.0"] } }\n`);
}

/** Firewall rules to 1 MiB: a few qubes with thousands of rules each (compiled, then judged by egress-filtered). */
export function longRuleLists(): string {
  const perQube = 2000;
  let q = 0;
  return fill(HEAD + "  sys-firewall: { class: ProxyVM, netvm: sys-net }\n", (i) => {
    const start = i % perQube === 0 ? `  app${q++}:\n    class: AppVM\n    netvm: sys-firewall\n    firewall:\n` : "";
    return `${start}      - { action: accept, proto: tcp, dsthost: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, dstports: ${1 + (i % 65535)} }\n`;
  });
}

/** Deep and wide to 1 MiB: thousands of flow lists nested 26 deep (under the depth limit) as firewall rules (refused at the loader's token limit). */
export function deepWide(): string {
  const nest = (depth: number) => "[".repeat(depth) + "1" + "]".repeat(depth);
  return fill(HEAD + "  work:\n    class: AppVM\n    netvm: sys-net\n    firewall:\n", () => `      - ${nest(26)}\n`);
}

/** A syntax error per byte: a 1 MiB run of `]` after a closed list (each a YAML error; refused at the token limit). */
export function strayClosers(): string {
  const head = HEAD + "  work: { class: AppVM, netvm: sys-net, kernelopts: [] }\n";
  return `${head}${"]".repeat(MAX_LAYOUT_BYTES - Buffer.byteLength(head) - 1)}\n`;
}

/** Misspelt keys in every qube to 1 MiB: an unknown-key error with a "did you mean" each. */
export function misspeltKeys(): string {
  return fill(HEAD, (i) => `  q${i}: { clas: AppVM, netvn: sys-net, memroy: 400 }\n`);
}

export function checkCases(): CheckCase[] {
  return [
    { name: "valid, 5,000 qubes", limitS: 3, exit: 0, yaml: validLayout() },
    { name: "hostile: misspelt netvms against 999 candidates", limitS: 5, exit: 2, yaml: misspeltNetvms() },
    { name: "hostile: AppVMs straight on NetVMs", limitS: 5, exit: 1, yaml: clientsOnNetvms() },
    { name: "hostile: one long ProxyVM chain", limitS: 5, exit: 2, yaml: longChain() },
    { name: "hostile: one PCI device on every qube", limitS: 5, exit: 1, yaml: oneDeviceEverywhere() },
    { name: "hostile: long firewall rule lists", limitS: 5, exit: 0, yaml: longRuleLists() },
    { name: "hostile: deep and wide YAML", limitS: 5, exit: 2, yaml: deepWide() },
    { name: "hostile: a syntax error per byte", limitS: 5, exit: 2, yaml: strayClosers() },
    { name: "hostile: misspelt keys in every qube", limitS: 5, exit: 2, yaml: misspeltKeys() },
  ];
}

async function timeCheck(cli: string, file: string, cpuFile: string): Promise<{ seconds: number; exit: number; cpuS?: number }> {
  const preload = join(__dirname, "cpu-preload.js");
  rmSync(cpuFile, { force: true });
  const t0 = performance.now();
  const env = { ...process.env, BULKHEAD_BENCH_CPU: cpuFile };
  const r = await execResult(process.execPath, ["--require", preload, cli, "check", "--json", file], { env, maxBuffer: 512 * 1024 * 1024, timeoutMs: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const exit = typeof r.code === "number" ? r.code : -1;
  let cpuS: number | undefined;
  try {
    const cpu = JSON.parse(readFileSync(cpuFile, "utf8")) as { userS: number; systemS: number };
    cpuS = cpu.userS + cpu.systemS;
  } catch {
    cpuS = undefined; // the process died before its exit handler
  }
  return cpuS === undefined ? { seconds, exit } : { seconds, exit, cpuS };
}

/** Times `bulkhead check` (the compiled CLI `cli`) on every case. */
export async function runCheckCases(cli: string, log: (s: string) => void = () => undefined): Promise<CheckRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "bulkhead-bench-check-"));
  try {
    const rows: CheckRow[] = [];
    for (const c of checkCases()) {
      const file = join(dir, "layout.yaml");
      writeFileSync(file, c.yaml);
      const load = loadavg()[0];
      const { seconds, exit, cpuS } = await timeCheck(cli, file, join(dir, "cpu.json"));
      const qubes = (c.yaml.match(/^ {2}[a-z]/gm) ?? []).length - 1; // lines under qubes:, minus the template
      const row: CheckRow = { name: c.name, bytes: Buffer.byteLength(c.yaml), qubes, exit, expectedExit: c.exit, seconds, load, limitS: c.limitS };
      if (cpuS !== undefined) row.cpuS = cpuS;
      rows.push(row);
      log(`check ${c.name}: ${seconds.toFixed(2)} s (CPU ${cpuS?.toFixed(2) ?? "?"} s, load ${load.toFixed(1)}), exit ${exit}`);
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Markdown rows: case, size, exit status, time, goal. */
export function checkTable(rows: readonly CheckRow[]): string[][] {
  return [
    ["layout", "bytes", "qubes", "exit (expected)", "bulkhead check", "its CPU", "load", "goal", "met"],
    ...rows.map((r) => [
      r.name,
      String(r.bytes),
      String(r.qubes),
      `${r.exit} (${r.expectedExit})`,
      `${r.seconds.toFixed(2)} s`,
      r.cpuS === undefined ? "-" : `${r.cpuS.toFixed(2)} s`,
      r.load === undefined ? "-" : r.load.toFixed(1),
      `under ${r.limitS} s`,
      r.seconds < r.limitS && r.exit === r.expectedExit ? "yes" : "**no**",
    ]),
  ];
}

if (require.main === module) {
  const cli = join(__dirname, "..", "cli", "main.js");
  runCheckCases(cli, (s) => console.error(s)).then(
    (rows) => {
      const line = (r: readonly string[]) => `| ${r.join(" | ")} |`;
      const [head, ...body] = checkTable(rows);
      console.log([line(head), line(head.map(() => "---")), ...body.map(line)].join("\n"));
      process.exit(rows.every((r) => r.seconds < r.limitS && r.exit === r.expectedExit) ? 0 : 1);
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
