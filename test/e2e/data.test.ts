// A qube's data and the faults `npm run up` must survive, end to end against the
// embedded lab with the real engine: one small stack under its own prefix, pool and
// backend (it never meets another test's or `npm run up`'s objects), no guest boots.
// A pattern written into work's private volume (qemu-io through the qcow2 layer, as a
// guest would see it) must survive every layout change and every fault; each fault
// ends with a rerun that converges (exactly the layout's objects on the host, nothing
// orphaned, a preview with no changes). Steps run in order, each on what the last left.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabHost, LIBVIRTD_PID_FILE } from "../../lab/host";
import { startLab } from "../../lab/lab";
import { virsh } from "../../libvirt/virsh";
import { REPO, WORK_DIR, pulumi, type PulumiResult } from "../../deploy/engine";
import { recoverInterrupted } from "../../deploy/recovery";
import { main as upMain } from "../../scripts/up";
import { cleanupPrefix } from "../helpers/libvirt";

const exec = promisify(execFile);

function engineCache(): string {
  const goMod = fs.readFileSync(path.join(REPO, "engine", "go.mod"), "utf8");
  const m = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v\S+)/.exec(goMod);
  const base = process.env["BULKHEAD_CACHE"] ?? path.join(os.homedir(), ".cache", "bulkhead");
  return path.join(base, `engine-${m?.[1] ?? "unknown"}`);
}

function skipReason(): string | undefined {
  if (!fs.existsSync(path.join(engineCache(), "pulumi"))) return `no Pulumi CLI in ${engineCache()}: run scripts/engine.sh first`;
  if (process.getuid?.() !== 0) return "needs root (the lab's libvirtd and network namespaces)";
  return undefined;
}
const reason = skipReason();

const URI = "qemu:///system";
const tag = randomBytes(3).toString("hex");
const prefix = `bhtestdata${tag}-`;
const pool = `${prefix}pool`;
const poolPath = `/var/lib/libvirt/${prefix}pool`;
const stack = `data-${tag}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-data-"));
const layoutFile = path.join(work, "layout.yaml");
const backend = `file://${path.join(work, "state")}`;
const engineEnv = { BULKHEAD_BACKEND_URL: backend };
const MIB = 1024 * 1024;

interface Qube {
  class: string;
  netvm?: string | null;
  template?: string;
  memory?: number;
  label?: string;
  private?: string;
  firewall?: Record<string, unknown>[];
  extra?: string;
}

const BASE: Record<string, Qube> = {
  "sys-net": { class: "NetVM", extra: "uplink: { network: bulkhead-lab-uplink }" },
  "sys-firewall": { class: "ProxyVM", netvm: "sys-net" },
  work: { class: "AppVM", private: "64MiB", firewall: [{ action: "accept", specialtarget: "dns" }] },
};

function writeLayout(qubes: Record<string, Qube>): void {
  const image = "/var/lib/bulkhead-lab/images";
  const template = (name: string) => [
    `  ${name}:`,
    `    image: ${image}/root.img`,
    "    format: raw",
    `    boot: { kernel: ${image}/vmlinuz, initrd: ${image}/initrd.img, cmdline: "console=ttyS0 panic=-1" }`,
  ];
  const used = new Set(Object.values(qubes).map((q) => q.template ?? "lab"));
  const lines = [
    "version: 1",
    `host: { uri: "${URI}", domainType: qemu, pool: ${pool}, poolPath: ${poolPath}, prefix: ${prefix}, memory: 2048, images: ["${image}"] }`,
    "defaults: { template: lab, netvm: sys-firewall, memory: 128, vcpus: 1 }",
    "templates:",
    ...[...used].sort().flatMap(template),
    "qubes:",
  ];
  for (const [name, q] of Object.entries(qubes)) {
    lines.push(`  ${name}:`, `    class: ${q.class}`, `    label: ${q.label ?? "gray"}`, "    autostart: false");
    if (q.netvm !== undefined) lines.push(`    netvm: ${q.netvm === null ? "null" : q.netvm}`);
    for (const k of ["template", "memory", "private"] as const) if (q[k] !== undefined) lines.push(`    ${k}: ${String(q[k])}`);
    if (q.firewall !== undefined) lines.push(`    firewall: ${JSON.stringify(q.firewall)}`);
    if (q.extra !== undefined) lines.push(`    ${q.extra}`);
  }
  fs.writeFileSync(layoutFile, `${lines.join("\n")}\n`);
}

const text = (r: PulumiResult) => `${r.stdout}\n${r.stderr}`;
const run = (args: string[], extra: { onSpawn?: (pid: number) => void } = {}): Promise<PulumiResult> =>
  pulumi(args, { stream: false, env: engineEnv, ...extra });
const up = (extra: { onSpawn?: (pid: number) => void } = {}) =>
  run(["up", "--yes", "--skip-preview", "--stack", stack, "--policy-pack", path.join(REPO, "policies")], extra);
const previewNoChanges = () => run(["preview", "--expect-no-changes", "--stack", stack]);

/** The libvirt steps a preview proposes, as sorted `op name` lines. */
async function previewSteps(): Promise<string[]> {
  const r = await run(["preview", "--json", "--stack", stack]);
  expect(r.code, text(r)).toBe(0);
  return (JSON.parse(r.stdout) as { steps: { op: string; urn: string }[] }).steps
    .filter((s) => s.op !== "same" && s.urn.includes("bulkhead:libvirt:"))
    .map((s) => `${s.op} ${s.urn.split("::").pop() ?? ""}`)
    .sort();
}

async function names(args: string[]): Promise<string[]> {
  return (await virsh(URI, args)).split("\n").map((s) => s.trim()).filter((s) => s !== "");
}

/** Every libvirt object of this test's prefix and pool, as `kind name` lines, sorted. */
async function hostObjects(): Promise<string[]> {
  const mine = (l: string[]) => l.filter((n) => n.startsWith(prefix));
  const out: string[] = [];
  for (const d of mine(await names(["list", "--all", "--name"]))) out.push(`domain ${d.slice(prefix.length)}`);
  for (const n of mine(await names(["net-list", "--all", "--name"]))) out.push(`network ${n.slice(prefix.length)}`);
  const filters = (await names(["nwfilter-list"])).slice(2).map((l) => l.split(/\s+/)[1] ?? "");
  for (const f of mine(filters)) out.push(`nwfilter ${f.slice(prefix.length)}`);
  if ((await names(["pool-list", "--all", "--name"])).includes(pool)) {
    out.push(`pool ${pool}`);
    const vols = (await names(["vol-list", "--pool", pool])).slice(2).map((l) => l.split(/\s+/)[0] ?? "");
    for (const v of vols) out.push(`volume ${v.startsWith(prefix) ? v.slice(prefix.length) : v}`);
  }
  return out.sort();
}

/** The objects the layout makes (names without the prefix), plus volumes kept from qubes that left. */
function expectedObjects(qubes: Record<string, Qube>, kept: string[] = [], storage: Record<string, string> = {}): string[] {
  const templates = new Set(Object.values(qubes).map((q) => q.template ?? "lab"));
  const out = [`pool ${pool}`, ...kept.map((k) => `volume ${k}`)];
  for (const t of templates) out.push(`domain ${t}`, `volume ${t}-root.qcow2`, `volume ${t}-seed.iso`);
  for (const [name, q] of Object.entries(qubes)) {
    out.push(`domain ${name}`, `volume ${name}-seed.iso`, `volume ${storage[name] ?? name}-private.qcow2`);
    const netvm = q.netvm === undefined ? (q.class === "NetVM" ? null : "sys-firewall") : q.netvm;
    if (netvm !== null) out.push(`nwfilter ${name}-fw`);
    if (q.class === "NetVM" || q.class === "ProxyVM") out.push(`network ${name}-clients`);
  }
  return [...new Set(out)].sort();
}

const privatePath = (qube = "work") => path.join(poolPath, `${prefix}${qube}-private.qcow2`);

/** Writes the marker: 64 KiB of 0xa5 at 1 MiB into the volume's guest-visible data. */
async function writeMarker(file = privatePath()): Promise<void> {
  await exec("qemu-io", ["-f", "qcow2", "-c", "write -P 0xa5 1M 64k", file]);
}

/** True when the marker reads back exactly (qemu-io fails the read on any other byte). */
async function markerIntact(file = privatePath()): Promise<boolean> {
  const r = await exec("qemu-io", ["-f", "qcow2", "-c", "read -P 0xa5 1M 64k", file]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  return r.stdout.includes("read 65536/65536 bytes");
}

async function capacity(qube = "work"): Promise<number> {
  const xml = await virsh(URI, ["vol-dumpxml", "--pool", pool, "--vol", `${prefix}${qube}-private.qcow2`]);
  return Number(/<capacity unit='bytes'>(\d+)<\/capacity>/.exec(xml)?.[1]);
}

/** Recovery, then an up, then the convergence checks every fault ends with; returns seconds to converge. */
async function converge(qubes: Record<string, Qube>, kept: string[] = []): Promise<number> {
  const t0 = Date.now();
  await recoverInterrupted(stack, { env: engineEnv });
  const r = await up();
  expect(r.code, text(r)).toBe(0);
  const seconds = (Date.now() - t0) / 1000;
  expect(await hostObjects()).toEqual(expectedObjects(qubes, kept));
  const again = await previewNoChanges();
  expect(again.code, text(again)).toBe(0);
  expect(await markerIntact()).toBe(true);
  return seconds;
}

/** What each fault did and how long the rerun took, printed at the end for the notes. */
const notes: string[] = [];

/** `npm run up` itself (scripts/up.ts), in this process, on this test's backend; returns its exit code and what it printed. */
async function npmRunUp(args: string[] = []): Promise<{ code: number; out: string }> {
  const saved = { log: console.log, error: console.error };
  let out = "";
  console.log = (...a: unknown[]) => void (out += `${a.join(" ")}\n`);
  console.error = console.log;
  const before = process.env["BULKHEAD_BACKEND_URL"];
  process.env["BULKHEAD_BACKEND_URL"] = backend;
  try {
    return { code: await upMain([stack, "--no-wait", ...args]), out };
  } finally {
    Object.assign(console, saved);
    if (before === undefined) delete process.env["BULKHEAD_BACKEND_URL"];
    else process.env["BULKHEAD_BACKEND_URL"] = before;
  }
}

/** Child processes of `pid`, with their command lines. */
function childrenOf(pid: number): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

describe.skipIf(reason !== undefined).sequential(`a qube's data and faults, against the lab${reason ? ` (skipped: ${reason})` : ""}`, () => {
  beforeAll(async () => {
    await startLab({ skipPackages: true });
    writeLayout(BASE);
    const init = await run(["stack", "init", stack]);
    expect(init.code, text(init)).toBe(0);
    const set = await run(["config", "set", "bulkhead:layout", layoutFile, "--stack", stack]);
    expect(set.code, text(set)).toBe(0);
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    await writeMarker();
    expect(await markerIntact()).toBe(true);
  }, 300_000);

  afterAll(async () => {
    if (notes.length > 0) console.log(`faults (what happened, seconds to converge):\n${notes.join("\n")}`);
    await run(["destroy", "--yes", "--stack", stack]);
    await run(["stack", "rm", "--yes", "--force", stack]);
    fs.rmSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), { force: true });
    fs.rmSync(path.join(WORK_DIR, `${stack}.svg`), { force: true });
    await cleanupPrefix(URI, prefix);
    fs.rmSync(poolPath, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it("memory, label, firewall, then template and netvm changes leave the private volume alone and its data intact", async () => {
    const a = { ...BASE, work: { ...BASE.work, memory: 160, label: "blue", firewall: [{ action: "accept", specialtarget: "dns" }, { action: "accept", proto: "tcp", dstports: 443 }] } };
    writeLayout(a);
    const first = await previewSteps();
    expect(first).toContain("update bulkhead-work-domain");
    expect(first).toContain("update bulkhead-work-fw");
    expect(first.filter((s) => !s.startsWith("update ") || s.includes("private"))).toEqual([]);
    let r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await markerIntact()).toBe(true);

    // Offline now: an offline qube takes no firewall (a layout error otherwise).
    const b = { ...a, work: { ...a.work, template: "lab2", netvm: null, firewall: undefined } };
    writeLayout(b);
    const steps = await previewSteps();
    expect(steps.filter((s) => s.includes("work-private"))).toEqual([]);
    expect(steps).toContain("delete bulkhead-work-fw");
    r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await markerIntact()).toBe(true);
    expect(await hostObjects()).toEqual(expectedObjects(b));
    writeLayout(BASE);
    r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    expect(await markerIntact()).toBe(true);
  }, 600_000);

  it("a private grow is done in place (vol-resize) and keeps the data", async () => {
    const grown = { ...BASE, work: { ...BASE.work, private: "96MiB" } };
    writeLayout(grown);
    expect(await previewSteps()).toEqual(["update bulkhead-work-private"]);
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await capacity()).toBe(96 * MIB);
    expect(await markerIntact()).toBe(true);
    BASE.work = grown.work;
  }, 300_000);

  it("a shrink is refused by the preview, before anything changes, saying why and what to do", async () => {
    const before = await hostObjects();
    writeLayout({ ...BASE, work: { ...BASE.work, private: "32MiB" }, newcomer: { class: "AppVM" } });
    const p = await run(["preview", "--stack", stack]);
    expect(p.code, text(p)).not.toBe(0);
    expect(text(p)).toContain(`volume ${prefix}work-private.qcow2 holds a qube's data and would shrink from 96 MiB to 32 MiB`);
    expect(text(p)).toContain("Set `private` back to at least 96 MiB, or set `discard_data: true` on the qube and deploy it");
    const r = await npmRunUp();
    expect(r.code, r.out).toBe(1);
    // Nothing changed: not even the qube added in the same change.
    expect(await hostObjects()).toEqual(before);
    expect(await capacity()).toBe(96 * MIB);
    expect(await markerIntact()).toBe(true);
    writeLayout(BASE);
  }, 300_000);

  it("a qube removed from the layout keeps its data on the host (said so), and comes back with it", async () => {
    const { work: _gone, ...without } = BASE;
    writeLayout(without);
    expect((await previewSteps()).filter((s) => s.includes("work-private"))).toEqual(["delete bulkhead-work-private"]);
    const r = await npmRunUp();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`kept ${prefix}work-private.qcow2 in pool ${pool}: a qube's data`);
    expect(await hostObjects()).toEqual(expectedObjects(without, ["work-private.qcow2"]));
    expect(await markerIntact()).toBe(true);
    writeLayout(BASE);
    const back = await up();
    expect(back.code, text(back)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    expect(await capacity()).toBe(96 * MIB);
    expect(await markerIntact()).toBe(true);
  }, 300_000);

  it("a rename with renamed_from moves the qube and keeps its private volume (and data) under the old name", async () => {
    const { work: w, ...rest } = BASE;
    const renamed = { ...rest, mail: { ...w!, extra: "renamed_from: work" } };
    writeLayout(renamed);
    const steps = await previewSteps();
    expect(steps.filter((s) => s.includes("private"))).toEqual([]);
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(renamed, [], { mail: "work" }));
    expect(await markerIntact()).toBe(true);
    // Back to the first name: no renamed_from needed, the volume carries that name; mail's
    // resources go (its private volume retained), work's come and take the volume back.
    writeLayout(BASE);
    const back = await up();
    expect(back.code, text(back)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    expect(await markerIntact()).toBe(true);
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
  }, 600_000);

  it("fault: a volume deleted by hand; `npm run up` sees it, refreshes, recreates it", async () => {
    await virsh(URI, ["vol-delete", "--pool", pool, "--vol", `${prefix}sys-net-seed.iso`]);
    const t0 = Date.now();
    const r = await npmRunUp();
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("the host lacks 1 object(s) the state holds (Volume bhtest");
    expect(r.out).toContain("pulumi up --refresh");
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
    expect(await markerIntact()).toBe(true);
    notes.push(`volume deleted by hand: refresh saw it, up recreated it; ${seconds.toFixed(1)} s`);
  }, 300_000);

  it("fault: two `npm run up` at once; the second is refused with a clear message", async () => {
    const child = spawn(process.execPath, [path.join(REPO, "dist", "scripts", "up.js"), stack, "--no-wait"], {
      env: { ...process.env, ...engineEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let childOut = "";
    child.stdout.on("data", (d: Buffer) => (childOut += d.toString()));
    child.stderr.on("data", (d: Buffer) => (childOut += d.toString()));
    const t0 = Date.now();
    const exited = new Promise<number | null>((res) => child.on("close", res));
    const lock = path.join(WORK_DIR, "locks", `${stack}.lock`);
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(lock) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await expect(npmRunUp()).rejects.toThrow(
      new RegExp(`^stack ${stack} is busy: \`npm run up ${stack}\` \\(pid ${child.pid}\\) has been running since .*; wait for it to finish, then run this again$`),
    );
    expect(await exited, childOut).toBe(0);
    const seconds = (Date.now() - t0) / 1000;
    expect(fs.existsSync(lock)).toBe(false);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
    expect(await markerIntact()).toBe(true);
    notes.push(`two ups at once: the second refused at once (lock held by the first's pid); the first converged in ${seconds.toFixed(1)} s`);
  }, 300_000);

  it("fault: the provider process killed mid-up; the next run removes what it half-made and converges", async () => {
    const grown = { ...BASE, a1: { class: "AppVM" }, a2: { class: "AppVM" } };
    writeLayout(grown);
    let enginePid = 0;
    const running = up({ onSpawn: (p) => (enginePid = p) });
    const deadline = Date.now() + 120_000;
    let killed = "";
    while (Date.now() < deadline && killed === "") {
      if ((await hostObjects()).some((o) => / a\d/.test(o))) {
        const provider = childrenOf(enginePid).find((c) => c.cmd.includes("pulumi-resource-bulkhead") || c.cmd.includes("provider/main.js"));
        if (provider !== undefined) {
          // The plugin script execs node: killing it kills the provider itself.
          process.kill(provider.pid, "SIGKILL");
          killed = provider.cmd;
        }
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    expect(killed).not.toBe("");
    const r = await running;
    expect(r.code, text(r)).not.toBe(0);
    const seconds = await converge(grown);
    notes.push(`provider killed mid-up: the engine failed the run (exit ${String(r.code)}); recovery + up converged in ${seconds.toFixed(1)} s`);
    BASE.a1 = grown.a1;
    BASE.a2 = grown.a2;
  }, 600_000);

  it("fault: the provider's connection to libvirtd lost mid-up (its virsh sessions killed); the next run converges", async () => {
    // What the provider sees when libvirtd dies under it: the command in flight fails with
    // the session's exit, and the next command starts a new session. (Killing the lab's
    // libvirtd itself would break every other run on the shared lab.)
    const grown = { ...BASE, b1: { class: "AppVM" }, b2: { class: "AppVM" } };
    writeLayout(grown);
    let enginePid = 0;
    const t0 = Date.now();
    const running = up({ onSpawn: (p) => (enginePid = p) });
    const deadline = Date.now() + 120_000;
    let killed = 0;
    while (Date.now() < deadline && killed === 0) {
      if ((await hostObjects()).some((o) => / b\d/.test(o))) {
        const provider = childrenOf(enginePid).find((c) => c.cmd.includes("pulumi-resource-bulkhead") || c.cmd.includes("provider/main.js"));
        for (const v of provider === undefined ? [] : childrenOf(provider.pid).filter((c) => /(^|\/)virsh /.test(c.cmd))) {
          process.kill(v.pid, "SIGKILL");
          killed++;
        }
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    expect(killed).toBeGreaterThan(0);
    const r = await running;
    const first = (Date.now() - t0) / 1000;
    const seconds = await converge(grown);
    notes.push(
      `libvirt connection lost mid-up (${killed} virsh session(s) killed): that up exited ${String(r.code)} after ${first.toFixed(1)} s; recovery + up converged in ${seconds.toFixed(1)} s`,
    );
    BASE.b1 = grown.b1;
    BASE.b2 = grown.b2;
  }, 600_000);

  // Killing the lab's libvirtd breaks whatever else uses the lab at that moment, so this step
  // runs only when the lab is this file's alone: `npm test`'s second phase (BULKHEAD_LAB_EXCLUSIVE=1,
  // after every other file has finished). Run alone: `BULKHEAD_LAB_EXCLUSIVE=1 npx vitest run test/e2e/data.test.ts`.
  it.skipIf(process.env["BULKHEAD_LAB_EXCLUSIVE"] !== "1")("fault: libvirtd killed mid-up and started again; the next run converges", async () => {
    const grown = { ...BASE, c1: { class: "AppVM" }, c2: { class: "AppVM" } };
    writeLayout(grown);
    const t0 = Date.now();
    const running = up();
    const deadline = Date.now() + 120_000;
    let killed = 0;
    while (Date.now() < deadline && killed === 0) {
      if ((await hostObjects()).some((o) => / c\d/.test(o))) {
        const pid = Number(fs.readFileSync(LIBVIRTD_PID_FILE, "utf8").trim());
        process.kill(pid, "SIGKILL");
        killed = pid;
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    expect(killed).toBeGreaterThan(0);
    // Down for a moment, as a crash and a service manager's restart would leave it.
    await new Promise((res) => setTimeout(res, 2_000));
    await ensureLabHost();
    const r = await running;
    const first = (Date.now() - t0) / 1000;
    const seconds = await converge(grown);
    notes.push(`libvirtd killed mid-up (pid ${String(killed)}) and started again 2 s later: that up exited ${String(r.code)} after ${first.toFixed(1)} s; recovery + up converged in ${seconds.toFixed(1)} s`);
    BASE.c1 = grown.c1;
    BASE.c2 = grown.c2;
  }, 600_000);

  it("fault: every object removed behind bulkhead's back; `npm run up` sees the host is empty and recreates everything", async () => {
    // This stack's objects only, by name (the lab is shared): as `npm run lab:stop` would leave the host.
    await cleanupPrefix(URI, prefix);
    expect(await hostObjects()).toEqual([]);
    const t0 = Date.now();
    const r = await npmRunUp();
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("refreshing first");
    expect(r.out).not.toContain("missing");
    expect(r.out).toContain(`stack ${stack} is up`);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
    // The data went with the host (it was removed too); a new marker for what follows.
    await writeMarker();
    notes.push(`every object removed behind its back: up refreshed and recreated all ${expectedObjects(BASE).length} objects; ${seconds.toFixed(1)} s`);
  }, 600_000);

  it("destroy (`npm run down`) keeps the qubes' data and the pool holding it, and removes everything else", async () => {
    const r = await run(["destroy", "--yes", "--stack", stack]);
    expect(r.code, text(r)).toBe(0);
    const kept = Object.keys(BASE).map((q) => `volume ${q}-private.qcow2`);
    expect(await hostObjects()).toEqual([`pool ${pool}`, ...kept].sort());
    expect(await markerIntact()).toBe(true);
  }, 300_000);
});
