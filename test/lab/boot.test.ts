// Smoke test of the lab's guest images (lab/images/build.sh, lab/guest/*): boots them straight
// under QEMU (TCG), no libvirt. Skipped unless the images exist or BULKHEAD_LAB=1 (which builds
// them first). Guest traffic stays inside a network namespace made for the test.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentCommand,
  envFile,
  Guest,
  imagesDir,
  imagesPresent,
  Netns,
  onPath,
  removeDir,
  tempDir,
} from "./guests.js";
import { providerRuleset, RULESET_SEED_FILE } from "../../components/seed.js";
import { execRequest, execResult } from "../../prove/agent.js";
import { parseProbeResults } from "../../prove/plan.js";

const run = promisify(execFile);
const buildScript = join(__dirname, "..", "..", "lab", "images", "build.sh");

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces, taps)";
  if (!onPath("qemu-system-x86_64")) return "qemu-system-x86_64 is not installed";
  if (!imagesPresent() && process.env.BULKHEAD_LAB !== "1") {
    return `no lab images in ${imagesDir}: run lab/images/build.sh or set BULKHEAD_LAB=1`;
  }
  return undefined;
}
const reason = skipReason();
const title = reason === undefined ? "lab guest images" : `lab guest images (skipped: ${reason})`;

// Under TCG on a shared 2-core machine a guest reaches "ready" in 10-30 s; be generous.
const BOOT_MS = 150_000;

describe.skipIf(reason !== undefined)(title, () => {
  let dir = "";
  const netnses: Netns[] = [];
  const guests: Guest[] = [];
  const daemons: { kill: (s: NodeJS.Signals) => boolean; pid?: number }[] = [];

  beforeAll(async () => {
    if (!imagesPresent()) {
      await run("bash", [buildScript], { timeout: 900_000, maxBuffer: 16 << 20 });
    }
    dir = await tempDir();
  }, 900_000);

  afterAll(async () => {
    await Promise.all(guests.map((g) => g.stop()));
    for (const d of daemons) d.kill("SIGTERM");
    for (const ns of netnses) await ns.destroy();
    if (dir !== "") await removeDir(dir);
  }, 60_000);

  it("boots an offline qube: private volume made once and kept, services, probes", async () => {
    const env = envFile([
      ["QUBE", "vault"],
      ["CLASS", "AppVM"],
      ["HOSTNAME", "vault"],
      ["IFACES", "0"],
      ["PROBE_DEADLINE", "2"],
    ]);
    const probes = [
      "echo-tcp tcp 127.0.0.1 7",
      "echo-udp udp 127.0.0.1 7",
      "http tcp 127.0.0.1 80",
      "closed tcp 127.0.0.1 81",
      "closed-udp udp 127.0.0.1 9",
      "offline icmp 10.137.1.1",
      "bad; rm -rf / tcp 1.2.3.4 5",
    ].join("\n");
    const first = await Guest.boot(dir, { name: "vault", env, probes, nics: [] });
    guests.push(first);
    await first.waitFor(/bulkhead: ready/, BOOT_MS);
    const readyS = (Date.now() - first.startedAt) / 1000;
    await first.waitFor(/bulkhead: probes done/, 60_000);
    const rss = first.rssMiB();
    console.log(
      `lab: offline qube ready after ${readyS.toFixed(1)} s (guest uptime ${first.readyUptime()} s, ` +
        `private volume formatted), QEMU RSS ${rss} MiB, guest memory ${first.guestMemory()}`,
    );

    expect(first.lines("bulkhead: up "), first.serial).toEqual(["vault none"]);
    expect(first.lines("bulkhead: formatting "), first.serial).toEqual([
      "the blank private volume /dev/vdb (ext4)",
    ]);
    expect(first.lines("bulkhead: error"), first.serial).toEqual([": probes.txt line 7 is invalid (skipped)"]);
    expect(first.probeResults(), first.serial).toEqual([
      "closed blocked",
      "closed-udp blocked",
      "echo-tcp pass",
      "echo-udp pass",
      "http pass",
      "offline blocked",
    ]);
    await first.stop();

    // Second boot on the same private volume: it is mounted, not formatted again.
    const second = await Guest.boot(
      dir,
      { name: "vault", env, nics: [], privateDisk: first.privateDisk },
    );
    guests.push(second);
    await second.waitFor(/bulkhead: ready/, BOOT_MS);
    console.log(
      `lab: second boot ready after ${((Date.now() - second.startedAt) / 1000).toFixed(1)} s ` +
        `(guest uptime ${second.readyUptime()} s)`,
    );
    expect(second.lines("bulkhead: formatting "), second.serial).toEqual([]);
    expect(second.lines("bulkhead: error"), second.serial).toEqual([]);
    expect(second.lines("bulkhead: up "), second.serial).toEqual(["vault none"]);
    await second.stop();
  }, 2 * BOOT_MS + 120_000);

  it("runs the probes through its guest agent (qemu-ga on org.qemu.guest_agent.0), as a probes seed would at boot", async () => {
    const env = envFile([
      ["QUBE", "agent"],
      ["CLASS", "AppVM"],
      ["HOSTNAME", "agent"],
      ["IFACES", "0"],
    ]);
    const socket = join(dir, "agent.sock");
    const g = await Guest.boot(dir, { name: "agent", env, nics: [], agentSocket: socket });
    guests.push(g);
    await g.waitFor(/bulkhead: ready/, BOOT_MS);
    await g.waitFor(/bulkhead: guest agent on \/dev\/vport\d+p\d+/, 30_000);
    // The agent may take a moment to open its port after init starts it.
    let pinged = false;
    for (let i = 0; i < 30 && !pinged; i++) {
      pinged = await agentCommand(socket, { execute: "guest-ping" }, 5_000).then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 1_000)),
      );
    }
    expect(pinged, g.serial).toBe(true);
    const probes = ["echo-tcp tcp 127.0.0.1 7", "echo-udp udp 127.0.0.1 7", "closed tcp 127.0.0.1 81", "w write root bh-a", "x exists lib probes", "bad; id tcp 1.2.3.4 5"].join("\n");
    const t0 = Date.now();
    const started = (await agentCommand(socket, execRequest("/lib/bulkhead/probes", ["-", "2"], `${probes}\n`))) as { pid: number };
    let status: Parameters<typeof execResult>[0] = { exited: false };
    while (!status.exited && Date.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await agentCommand(socket, { execute: "guest-exec-status", arguments: { pid: started.pid } })) as typeof status;
    }
    const r = execResult(status);
    console.log(`lab: probes through the guest agent took ${((Date.now() - t0) / 1000).toFixed(1)} s (deadline 2 s)`);
    expect(r.exitcode, r.stdout + r.stderr).toBe(0);
    expect([...parseProbeResults(r.stdout)].map(([id, v]) => `${id} ${v}`).sort()).toEqual(["closed blocked", "echo-tcp pass", "echo-udp pass", "w written", "x present"]);
    expect(r.stdout).toContain("bulkhead: error: probes.txt line 6 is invalid (skipped)");
    expect(r.stdout.trimEnd().endsWith("bulkhead: probes done")).toBe(true);
    await g.stop();
  }, BOOT_MS + 120_000);

  it("a NetVM with a DHCP uplink NATs its client, DNATs DNS, forwards only client-initiated connections, and answers its client's ping but not its services", async () => {
    const ns = await Netns.create(`bhlab-test-${process.pid}`);
    netnses.push(ns);
    // The uplink (like the lab's bulkhead-lab-uplink: DHCP and DNS from dnsmasq) and the
    // NetVM's client network (no address in the namespace).
    await ns.bridge("up0", "192.168.100.1/24");
    await ns.bridge("cl0");
    for (const [tap, br] of [["t-net0", "up0"], ["t-net1", "cl0"], ["t-cli0", "cl0"], ["t-out0", "up0"]]) {
      await ns.tap(tap, br);
    }
    const dnsmasq = ns.spawn("dnsmasq", [
      "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
      "--interface=up0", "--bind-interfaces", "--except-interface=lo",
      "--no-resolv", "--no-hosts", "--address=/lab.test/192.168.100.1",
      "--dhcp-range=192.168.100.50,192.168.100.99,255.255.255.0,1h",
      "--dhcp-host=52:54:00:0b:00:01,192.168.100.2",
      `--dhcp-leasefile=${join(dir, "leases")}`,
      "--dhcp-option=option:dns-server,192.168.100.1",
    ]);
    daemons.push(dnsmasq);

    const netvm = await Guest.boot(dir, {
      name: "sys-net",
      env: envFile([
        ["QUBE", "sys-net"], ["CLASS", "NetVM"], ["HOSTNAME", "sys-net"], ["IFACES", "2"],
        ["IF0_MAC", "52:54:00:0b:00:01"], ["IF0_ADDRS", ""], ["IF0_DHCP", "1"],
        ["IF1_MAC", "52:54:00:0b:00:02"], ["IF1_ADDRS", "10.137.1.1/24 10.138.1.1/24"], ["IF1_DHCP", "0"],
        ["DNS", ""], ["FORWARD", "1"], ["NAT_IF", "0"], ["CLIENT_IF", "1"], ["DNS_UPSTREAM", "dhcp"],
      ]),
      files: { [RULESET_SEED_FILE]: providerRuleset() },
      nics: [{ tap: "t-net0", mac: "52:54:00:0b:00:01" }, { tap: "t-net1", mac: "52:54:00:0b:00:02" }],
    }, ns);
    guests.push(netvm);
    const client = await Guest.boot(dir, {
      name: "work",
      env: envFile([
        ["QUBE", "work"], ["CLASS", "AppVM"], ["HOSTNAME", "work"], ["IFACES", "1"],
        ["IF0_MAC", "52:54:00:0c:00:01"], ["IF0_ADDRS", "10.137.1.5/32"], ["IF0_DHCP", "0"],
        ["GATEWAY", "10.137.1.1"], ["DNS", "10.139.1.1 10.139.1.2"], ["PROBE_DEADLINE", "45"],
      ]),
      probes: [
        "gw icmp 10.137.1.1",
        "gw-echo tcp 10.137.1.1 7",
        "uplink icmp 192.168.100.1",
        "dns-udp udp 10.139.1.1 53",
        "dns-tcp tcp 10.139.1.2 53",
        "outside-echo tcp 192.168.100.20 7",
        "outside-udp udp 192.168.100.20 7",
        "not-dnat udp 10.139.1.3 53",
        "closed tcp 192.168.100.1 7",
      ].join("\n"),
      nics: [{ tap: "t-cli0", mac: "52:54:00:0c:00:01" }],
    }, ns);
    guests.push(client);
    // A host on the uplink whose default route is the NetVM: it must not reach the client.
    const outside = await Guest.boot(dir, {
      name: "outside",
      env: envFile([
        ["QUBE", "outside"], ["CLASS", "AppVM"], ["HOSTNAME", "outside"], ["IFACES", "1"],
        ["IF0_MAC", "52:54:00:0d:00:01"], ["IF0_ADDRS", "192.168.100.20/24"], ["IF0_DHCP", "0"],
        ["GATEWAY", "192.168.100.2"], ["PROBE_DEADLINE", "45"],
      ]),
      probes: [
        "netvm-echo tcp 192.168.100.2 7",
        "to-client-tcp tcp 10.137.1.5 7",
        "to-client-icmp icmp 10.137.1.5",
      ].join("\n"),
      nics: [{ tap: "t-out0", mac: "52:54:00:0d:00:01" }],
    }, ns);
    guests.push(outside);

    await Promise.all([netvm, client, outside].map((g) => g.waitFor(/bulkhead: ready/, BOOT_MS)));
    const ready = [netvm, client, outside].map((g) => ((Date.now() - g.startedAt) / 1000).toFixed(1));
    await Promise.all([client, outside].map((g) => g.waitFor(/bulkhead: probes done/, 120_000)));
    console.log(
      `lab: three guests ready after ${ready.join(" / ")} s (guest uptime ` +
        `${[netvm, client, outside].map((g) => g.readyUptime()).join(" / ")} s); QEMU RSS ` +
        `${[netvm, client, outside].map((g) => g.rssMiB()).join(" / ")} MiB; guest memory ` +
        [netvm, client, outside].map((g) => g.guestMemory()).join(" / "),
    );

    expect(netvm.lines("bulkhead: up "), netvm.serial).toEqual(["sys-net 10.137.1.1"]);
    expect(netvm.lines("bulkhead: dhcp "), netvm.serial).toEqual(["eth0 192.168.100.2"]);
    expect(netvm.lines("bulkhead: provider: "), netvm.serial).toEqual([
      "forwarding eth1 -> upstream, dns -> 192.168.100.1 192.168.100.1",
    ]);
    // The guest loaded the repo's components/provider.nft byte for byte (from its seed).
    expect(netvm.lines("bulkhead: provider ruleset sha256 "), netvm.serial).toEqual([
      createHash("sha256").update(providerRuleset()).digest("hex"),
    ]);
    expect(netvm.lines("bulkhead: error"), netvm.serial).toEqual([]);
    expect(client.lines("bulkhead: up "), client.serial).toEqual(["work 10.137.1.5"]);
    expect(client.probeResults(), client.serial).toEqual([
      "closed blocked",
      "dns-tcp pass",
      "dns-udp pass",
      "gw pass",
      "gw-echo blocked",
      "not-dnat blocked",
      "outside-echo pass",
      "outside-udp pass",
      "uplink pass",
    ]);
    expect(outside.lines("bulkhead: up "), outside.serial).toEqual(["outside 192.168.100.20"]);
    expect(outside.probeResults(), outside.serial).toEqual([
      "netvm-echo pass",
      "to-client-icmp blocked",
      "to-client-tcp blocked",
    ]);
  }, BOOT_MS + 240_000);
});
