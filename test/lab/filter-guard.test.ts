// The ICMP mystery of the 14-qube proof (issue 12 item 8): a client without an ICMP rule
// got echo replies from its ProxyVM. Cause: each time libvirt instantiates a port's
// filter (every start of a domain with a filterref: the proof starts qubes in waves),
// its nwfilter driver deletes and re-inserts the FORWARD jumps to its per-port chains
// one iptables call at a time, and for that moment every other port is unfiltered. The
// ping to the client's own provider is the one probe whose answer comes back (one hop)
// before the window closes. Reproduced here without guests, in the lab's namespace:
// a client and a "provider" namespace on a bridge of this test, a drop-all nwfilter
// bound to the client's port, pings every 5 ms, and another port's filter instantiated
// as a domain start does; the provider's kernel counts the echo requests it received.
// lab/host.ts's guard (FILTER_GUARD) closes the window.
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FILTER_GUARD, LAB_NAMESPACE, ensureFilterGuard } from "../../lab/host";
import { virsh } from "../../libvirt/virsh";
import { labUri } from "../helpers/libvirt";

const execp = promisify(execFile);
const root = process.getuid?.() === 0;
const tag = randomBytes(2).toString("hex");
const CLIENT_NS = `bhtest-g${tag}c`;
const PROVIDER_NS = `bhtest-g${tag}p`;
const BRIDGE = `bhg${tag}br`;
const CLIENT_PORT = `bhg${tag}c0`;
const PROVIDER_PORT = `bhg${tag}p0`;
const OTHER_PORT = `bhg${tag}o0`;
const FILTER = `bhtest-guard-${tag}-fw`;
const CLIENT_MAC = "52:54:00:b4:0f:0c";
const OTHER_MAC = "52:54:00:b4:0f:0d";
let uri = "";
let dir = "";

const lab = (args: string[]) => execp("ip", ["netns", "exec", LAB_NAMESPACE, ...args]);
const inNs = (ns: string, args: string[]) => execp("ip", ["netns", "exec", ns, ...args]);

function binding(port: string, mac: string, ip: string): string {
  return [
    "<filterbinding>",
    `  <owner><name>bhtest-guard-${tag}-${port}</name><uuid>${randomUUID()}</uuid></owner>`,
    `  <portdev name='${port}'/>`,
    `  <mac address='${mac}'/>`,
    `  <filterref filter='${FILTER}'><parameter name='IP' value='${ip}'/></filterref>`,
    "</filterbinding>",
  ].join("\n");
}

/** Echo requests the provider namespace's kernel has received (/proc/net/snmp, Icmp InEchos). */
async function inEchos(): Promise<number> {
  const { stdout } = await inNs(PROVIDER_NS, ["cat", "/proc/net/snmp"]);
  const [head, values] = stdout.split("\n").filter((l) => l.startsWith("Icmp:"));
  const i = head!.split(/\s+/).indexOf("InEchos");
  return Number(values!.split(/\s+/)[i]);
}

/** Pings for 6 s while OTHER_PORT's filter is instantiated `times` times; returns the echo requests that got through. */
async function leaked(times: number): Promise<number> {
  const before = await inEchos();
  const ping = inNs(CLIENT_NS, ["busybox", "ping", "-q", "-i", "0.005", "-w", "6", "10.99.77.1"]).catch(() => undefined);
  const file = join(dir, "other.xml");
  await writeFile(file, binding(OTHER_PORT, OTHER_MAC, "10.99.77.3"));
  for (let i = 0; i < times; i++) {
    await virsh(uri, ["nwfilter-binding-create", file]);
    await virsh(uri, ["nwfilter-binding-delete", OTHER_PORT]);
  }
  await ping;
  return (await inEchos()) - before;
}

async function removeGuard(): Promise<void> {
  for (const tool of ["iptables", "ip6tables"]) {
    for (const [hook, { chain, first }] of Object.entries(FILTER_GUARD)) {
      for (const c of [hook, ...(first === undefined ? [] : [first])]) {
        await lab([tool, "-w", "-D", c, "-j", chain]).catch(() => undefined);
      }
    }
  }
}

describe.skipIf(!root).sequential("libvirt's filter relinking window (the ICMP mystery)", () => {
  beforeAll(async () => {
    uri = await labUri();
    await ensureFilterGuard();
    dir = await mkdtemp(join(tmpdir(), "bhtest-guard-"));
    const filter = join(dir, "filter.xml");
    await writeFile(
      filter,
      `<filter name='${FILTER}' chain='root'><filterref filter='clean-traffic'/><rule action='drop' direction='out' priority='1000'><all/></rule></filter>`,
    );
    await virsh(uri, ["nwfilter-define", filter]);
    for (const ns of [CLIENT_NS, PROVIDER_NS]) await execp("ip", ["netns", "add", ns]);
    await lab(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    await lab(["ip", "link", "set", BRIDGE, "up"]);
    for (const [port, ns, ip] of [[CLIENT_PORT, CLIENT_NS, "10.99.77.2/24"], [PROVIDER_PORT, PROVIDER_NS, "10.99.77.1/24"]] as const) {
      await lab(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await lab(["ip", "link", "set", port, "master", BRIDGE]);
      await lab(["ip", "link", "set", port, "up"]);
      if (ns === CLIENT_NS) await inNs(ns, ["ip", "link", "set", "eth0", "address", CLIENT_MAC]);
      await inNs(ns, ["ip", "addr", "add", ip, "dev", "eth0"]);
      await inNs(ns, ["ip", "link", "set", "eth0", "up"]);
    }
    await lab(["ip", "tuntap", "add", OTHER_PORT, "mode", "tap"]);
    await lab(["ip", "link", "set", OTHER_PORT, "up"]);
    const file = join(dir, "client.xml");
    await writeFile(file, binding(CLIENT_PORT, CLIENT_MAC, "10.99.77.2"));
    await virsh(uri, ["nwfilter-binding-create", file]);
  }, 120_000);

  afterAll(async () => {
    await ensureFilterGuard();
    for (const port of [CLIENT_PORT, OTHER_PORT]) await virsh(uri, ["nwfilter-binding-delete", port]).catch(() => undefined);
    for (const port of [CLIENT_PORT, PROVIDER_PORT, OTHER_PORT, BRIDGE]) await lab(["ip", "link", "del", port]).catch(() => undefined);
    for (const ns of [CLIENT_NS, PROVIDER_NS]) await execp("ip", ["netns", "del", ns]).catch(() => undefined);
    await virsh(uri, ["nwfilter-undefine", "--nwfilter", FILTER]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("the drop-all filter holds while nothing else changes", async () => {
    expect(await leaked(0)).toBe(0);
  }, 60_000);

  it("without the guard, another port's filter instantiation lets the client's pings through", async () => {
    await removeGuard();
    let n: number;
    try {
      n = await leaked(5);
    } finally {
      await ensureFilterGuard();
    }
    console.log(`without the guard: ${n} echo request(s) passed a drop-all filter during 5 instantiations`);
    expect(n).toBeGreaterThan(0);
  }, 120_000);

  it("with the guard, no echo request gets through any instantiation", async () => {
    expect(await leaked(5)).toBe(0);
  }, 120_000);
});
