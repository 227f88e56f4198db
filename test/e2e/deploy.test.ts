// End to end against the embedded lab: the real Pulumi engine (scripts/engine.sh), the
// project's provider plugin and policy pack, a real libvirtd in netns bulkhead-lab. One
// stack with a small generated layout under its own prefix and pool (so it never meets
// `npm run up`'s dev stack or other test files); its qubes do not autostart, so no guest
// burns CPU. Steps run in order: each builds on the host state the previous one left.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab } from "../../lab/lab";
import { parseDomainXml } from "../../libvirt/xml/domain";
import { virsh } from "../../libvirt/virsh";
import { REPO, pulumi, type PulumiResult } from "../../deploy/engine";
import { recoverInterrupted } from "../../deploy/recovery";
import { cleanupPrefix } from "../helpers/libvirt";

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
const prefix = `bhteste2e${tag}-`;
// Under the prefix, as every object of the layout, so cleanupPrefix removes it too.
const pool = `${prefix}pool`;
const poolPath = `/var/lib/libvirt/${prefix}pool`;
const stack = `e2e-${tag}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-e2e-"));
const layoutFile = path.join(work, "layout.yaml");
const backend = `file://${path.join(work, "state")}`;
const engineEnv = { BULKHEAD_BACKEND_URL: backend };

interface Qube {
  class: string;
  netvm?: string | null;
  firewall?: Record<string, unknown>[];
  extra?: string;
}

const BASE: Record<string, Qube> = {
  "sys-net": { class: "NetVM", extra: "uplink: { network: bulkhead-lab-uplink }" },
  "sys-firewall": { class: "ProxyVM", netvm: "sys-net" },
  work: { class: "AppVM", firewall: [{ action: "accept", specialtarget: "dns" }, { action: "accept", proto: "tcp", dstports: 80 }] },
  vault: { class: "AppVM", netvm: null },
};

function writeLayout(qubes: Record<string, Qube>, uri = URI): void {
  const lines = [
    "version: 1",
    `host: { uri: "${uri}", domainType: qemu, pool: ${pool}, poolPath: ${poolPath}, prefix: ${prefix}, memory: 2048, images: ["/var/lib/bulkhead-lab/images"] }`,
    "defaults: { template: lab, netvm: sys-firewall, memory: 128, vcpus: 1 }",
    "templates:",
    "  lab:",
    "    image: /var/lib/bulkhead-lab/images/root.img",
    "    format: raw",
    "    boot: { kernel: /var/lib/bulkhead-lab/images/vmlinuz, initrd: /var/lib/bulkhead-lab/images/initrd.img, cmdline: \"console=ttyS0 panic=-1\" }",
    "qubes:",
  ];
  for (const [name, q] of Object.entries(qubes)) {
    lines.push(`  ${name}:`, `    class: ${q.class}`, "    label: gray", "    autostart: false");
    if (q.netvm !== undefined) lines.push(`    netvm: ${q.netvm === null ? "null" : q.netvm}`);
    if (q.firewall !== undefined) lines.push(`    firewall: ${JSON.stringify(q.firewall)}`);
    if (q.extra !== undefined) lines.push(`    ${q.extra}`);
  }
  fs.writeFileSync(layoutFile, `${lines.join("\n")}\n`);
}

const run = (args: string[], extra: { onSpawn?: (pid: number) => void } = {}): Promise<PulumiResult> =>
  pulumi(args, { stream: false, env: engineEnv, ...extra });
const up = () => run(["up", "--yes", "--skip-preview", "--stack", stack, "--policy-pack", path.join(REPO, "policies")]);
const previewNoChanges = () => run(["preview", "--expect-no-changes", "--stack", stack]);

/** The libvirt steps a preview proposes, as sorted `op name [changed keys]` lines. */
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

/** Every libvirt object of this test's prefix, as `kind name` lines, sorted. */
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

/** The objects a qube of each class makes (names without the prefix). */
function expectedObjects(qubes: Record<string, Qube>): string[] {
  const out = [`pool ${pool}`, "domain lab", "volume lab-root.qcow2", "volume lab-seed.iso"];
  for (const [name, q] of Object.entries(qubes)) {
    out.push(`domain ${name}`, `volume ${name}-seed.iso`);
    if (q.class !== "DispVM") out.push(`volume ${name}-private.qcow2`);
    const netvm = q.netvm === undefined ? (q.class === "NetVM" ? null : "sys-firewall") : q.netvm;
    if (netvm !== null) out.push(`nwfilter ${name}-fw`);
    if (q.class === "NetVM" || q.class === "ProxyVM") out.push(`network ${name}-clients`);
  }
  return out.sort();
}

async function domain(name: string) {
  return parseDomainXml(await virsh(URI, ["dumpxml", "--inactive", "--domain", `${prefix}${name}`]));
}

const text = (r: PulumiResult) => `${r.stdout}\n${r.stderr}`;

/** The stack holds no libvirt resource and the host no object of the prefix. */
async function expectNothingMade(): Promise<void> {
  const exported = await run(["stack", "export", "--stack", stack]);
  const resources = (JSON.parse(exported.stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
  expect(resources.filter((x) => x.type.startsWith("bulkhead:libvirt:"))).toEqual([]);
  expect(await hostObjects()).toEqual([]);
}

describe.skipIf(reason !== undefined).sequential(`deploying a layout to the lab with the real engine${reason ? ` (skipped: ${reason})` : ""}`, () => {
  beforeAll(async () => {
    await startLab({ skipPackages: true });
    writeLayout(BASE);
    const init = await run(["stack", "init", stack]);
    expect(init.code, text(init)).toBe(0);
    const set = await run(["config", "set", "bulkhead:layout", layoutFile, "--stack", stack]);
    expect(set.code, text(set)).toBe(0);
  }, 300_000);

  afterAll(async () => {
    // Whatever a failed step left: the stack, its config file in stacks/, and the host objects.
    await run(["destroy", "--yes", "--stack", stack]);
    await run(["stack", "rm", "--yes", "--force", stack]);
    fs.rmSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), { force: true });
    await cleanupPrefix(URI, prefix);
    fs.rmSync(poolPath, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it("up makes exactly the layout's objects, and a second preview expects no changes", async () => {
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    const p = await previewNoChanges();
    expect(p.code, text(p)).toBe(0);
  }, 300_000);

  it("refresh sees hand edits on the host (a removed filter, changed memory) and the next up repairs them", async () => {
    await virsh(URI, ["nwfilter-undefine", "--nwfilter", `${prefix}work-fw`]);
    await virsh(URI, ["setmaxmem", "--domain", `${prefix}vault`, "--size", "200M", "--config"]);
    const refresh = await run(["refresh", "--yes", "--stack", stack]);
    expect(refresh.code, text(refresh)).toBe(0);
    expect(await previewSteps()).toEqual(["create bulkhead-work-fw", "update bulkhead-vault-domain"]);
    const p = await previewNoChanges();
    expect(p.code).toBe(7);
    expect(text(p)).toContain("no changes were expected for preview but changes were proposed");
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(BASE));
    expect((await domain("vault")).memory).toBe(128);
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
  }, 300_000);

  it("a layout change (a qube added, a rule changed, a qube moved to another netvm) updates in place and replaces nothing", async () => {
    const changed: Record<string, Qube> = {
      ...BASE,
      // a second ProxyVM, and a new client of it
      "sys-firewall2": { class: "ProxyVM", netvm: "sys-net" },
      mail: { class: "AppVM", netvm: "sys-firewall2" },
      // a firewall rule changed
      work: { class: "AppVM", firewall: [{ action: "accept", specialtarget: "dns" }, { action: "accept", proto: "tcp", dstports: 443 }] },
      // moved to another netvm
      vault: { class: "AppVM", netvm: "sys-firewall2" },
    };
    const uuidsBefore = { work: (await domain("work")).uuid, vault: (await domain("vault")).uuid };
    writeLayout(changed);
    const steps = await previewSteps();
    expect(steps).toEqual([
      "create bulkhead-mail-domain",
      "create bulkhead-mail-fw",
      "create bulkhead-mail-private",
      "create bulkhead-mail-seed",
      "create bulkhead-sys-firewall2-clients",
      "create bulkhead-sys-firewall2-domain",
      "create bulkhead-sys-firewall2-fw",
      "create bulkhead-sys-firewall2-private",
      "create bulkhead-sys-firewall2-seed",
      "create bulkhead-vault-fw",
      // The new ProxyVM joins sys-net's client network: sys-net's and
      // sys-firewall's guest config changes with it, in place.
      "update bulkhead-sys-firewall-domain",
      "update bulkhead-sys-firewall-seed",
      "update bulkhead-sys-net-seed",
      "update bulkhead-vault-domain",
      "update bulkhead-vault-seed",
      "update bulkhead-work-fw",
    ]);
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    expect(await hostObjects()).toEqual(expectedObjects(changed));
    // In place: same domains (UUIDs), the moved one now on sys-firewall2's network.
    const vault = await domain("vault");
    expect({ work: (await domain("work")).uuid, vault: vault.uuid }).toEqual(uuidsBefore);
    expect(vault.devices.interfaces?.map((i) => i.source)).toEqual([{ network: `${prefix}sys-firewall2-clients` }]);
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
  }, 300_000);

  it("an engine killed (SIGKILL) in the middle of up: the next up ends with exactly the layout's objects", async () => {
    const grown: Record<string, Qube> = { ...BASE, a1: { class: "AppVM" }, a2: { class: "AppVM" }, a3: { class: "AppVM" } };
    writeLayout(grown);
    let pid = 0;
    const running = run(["up", "--yes", "--skip-preview", "--stack", stack], { onSpawn: (p) => (pid = p) });
    // Kill once the new qubes' objects have started to appear, well before the run can end.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const objs = await hostObjects();
      if (objs.some((o) => /^(volume|domain|nwfilter) a\d/.test(o))) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    process.kill(pid, "SIGKILL");
    const killed = await running;
    expect(killed.signal).toBe("SIGKILL");
    // The plugins notice their engine is gone and leave (provider/main.ts, langhost/main.ts).
    await new Promise((res) => setTimeout(res, 2500));

    const locked = await up();
    expect(locked.code, text(locked)).toBe(1);
    expect(text(locked)).toContain("the stack is currently locked by 1 lock(s)");

    const did = await recoverInterrupted(stack, { env: engineEnv });
    expect(did).toContain(`removed the lock of engine pid ${pid}, which is gone`);
    // The engine ran without per-step checkpoints: the state holds none of a1..a3, and the
    // provider's journal names what the killed run had made (at least the object seen above).
    expect(did.filter((l) => /-a\d/.test(l) && l.startsWith("removed ")).length).toBeGreaterThan(0);
    expect(did[did.length - 1]).toBe("refreshed the state from the host (0 pending operation(s) cleared)");
    const r = await up();
    expect(r.code, text(r)).toBe(0);
    // mail and sys-firewall2 left the layout: their private volumes (their data) stay on the host.
    const keptData = ["volume mail-private.qcow2", "volume sys-firewall2-private.qcow2"];
    expect(await hostObjects()).toEqual([...expectedObjects(grown), ...keptData].sort());
    const again = await previewNoChanges();
    expect(again.code, text(again)).toBe(0);
  }, 300_000);

  it("destroy leaves no libvirt object of the layout behind but the qubes' data (private volumes) and the pool holding it", async () => {
    const r = await run(["destroy", "--yes", "--stack", stack]);
    expect(r.code, text(r)).toBe(0);
    const kept = ["sys-net", "sys-firewall", "work", "vault", "a1", "a2", "a3", "mail", "sys-firewall2"].map((q) => `volume ${q}-private.qcow2`);
    expect(await hostObjects()).toEqual([`pool ${pool}`, ...kept].sort());
    // Removed by hand, as the user would once sure the data is not wanted.
    await cleanupPrefix(URI, prefix);
    expect(await hostObjects()).toEqual([]);
  }, 300_000);

  it("a URI the contract refuses (a socket= parameter): the program says which and why, and makes nothing", async () => {
    const uri = `qemu:///system?socket=/run/bulkhead-e2e-${tag}/no-libvirtd`;
    writeLayout(BASE, uri);
    const r = await up();
    expect(r.code, text(r)).toBe(1);
    expect(text(r)).toContain('has the query parameter "socket" (it names a local program or socket); only keyfile, known_hosts, known_hosts_verify, sshauth, pkipath, no_tty, mode are allowed');
    await expectNothingMade();
  }, 300_000);

  it("an allowed URI with no libvirtd behind it: a clear error and nothing made", async () => {
    const uri = "qemu+ssh://bhtest@127.0.0.1:1/system?no_tty=1";
    writeLayout(BASE, uri);
    const r = await up();
    expect(r.code, text(r)).toBe(1);
    expect(text(r)).toContain(`cannot connect to libvirt at ${uri}`);
    await expectNothingMade();
  }, 300_000);
});
