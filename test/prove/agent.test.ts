// The guest-agent path of prove, without a guest: the requests it sends, the
// replies it decodes, the layout setting that gives a qube the agent's channel,
// the stock world, and the probe runner itself (bash, run here against this
// machine's loopback only).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { guestAgentChannel } from "../../components/domain";
import { parseDomainXml, renderDomainXml } from "../../libvirt/xml/domain";
import { compileResources } from "../../components/compile";
import { qubeDomainArgs } from "../../components/qube";
import { templateDomainArgs } from "../../components/template";
import { parseLayout } from "../../layout/load";
import { AGENT_PROBES, execRequest, execResult } from "../../prove/agent";
import { expectedFlows, labWorld, LAB_WORLD, STOCK_SERVICES } from "../../prove/expected";
import { parseProbeResults, planStorage, STOCK_TEMPLATE_FILE, TEMPLATE_FILE } from "../../prove/plan";

const layoutText = (agent: string) => `version: 1
host: { domainType: qemu, prefix: "st-" }
defaults: { template: debian, netvm: sys-firewall }
templates:
  debian:
    image: /var/lib/libvirt/images/root.qcow2
    boot: { kernel: /k, initrd: /i, cmdline: "root=/dev/vda rw console=ttyS0" }
${agent}
  lab: { image: /var/lib/libvirt/images/root.img, format: raw }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { network: bulkhead-lab-uplink } }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net }
  work: { class: AppVM, label: blue }
  personal: { class: AppVM, label: yellow }
  old: { class: AppVM, label: gray, template: lab }
`;
const stock = () => parseLayout(layoutText("    guest_agent: true"), "stock.yaml");

describe("the guest agent's channel", () => {
  it("is a typed Domain input given to the qubes and the template of a guest_agent template only", () => {
    const l = stock();
    const q = (n: string) => l.qubes.find((x) => x.name === n)!;
    const t = (n: string) => l.templates.find((x) => x.name === n)!;
    expect(qubeDomainArgs(l.host, l.source, q("work"), t("debian")).devices.channels).toEqual([
      { type: "unix", target: { type: "virtio", name: "org.qemu.guest_agent.0" } },
    ]);
    expect(templateDomainArgs(l.host, l.source, t("debian")).devices.channels).toEqual([guestAgentChannel()]);
    expect(qubeDomainArgs(l.host, l.source, q("old"), t("lab")).devices.channels).toBeUndefined();
    const plain = parseLayout(layoutText(""), "stock.yaml");
    expect(qubeDomainArgs(plain.host, plain.source, plain.qubes.find((x) => x.name === "work")!, plain.templates[0]).devices.channels).toBeUndefined();
  });

  it("is in the SDK-free plan too", () => {
    const domains = compileResources(stock()).filter((r) => r.type === "bulkhead:libvirt:Domain");
    const withChannel = domains.filter((r) => (r.inputs as { devices: { channels?: unknown[] } }).devices.channels !== undefined).map((r) => r.name);
    expect(withChannel.sort()).toEqual(["bulkhead-debian-domain", "bulkhead-personal-domain", "bulkhead-sys-firewall-domain", "bulkhead-sys-net-domain", "bulkhead-work-domain"]);
  });

  it("renders as libvirt's <channel> and parses back without libvirt's generated source and address", () => {
    const spec = {
      name: "st-work",
      type: "qemu" as const,
      memory: 384,
      vcpu: 1,
      metadata: { class: "AppVM" as const, qube: "work", label: "blue", layout: "l.yaml" },
      os: { type: "hvm" as const },
      features: { acpi: true },
      devices: { disks: [], interfaces: [], hostdevs: [], graphics: [], serials: [], channels: [guestAgentChannel()] },
    };
    const xml = renderDomainXml(spec);
    expect(xml).toContain(`    <channel type="unix">
      <target type="virtio" name="org.qemu.guest_agent.0"/>
    </channel>
`);
    const live = xml.replace(
      `<target type="virtio" name="org.qemu.guest_agent.0"/>`,
      `<source mode="bind" path="/var/lib/libvirt/qemu/channel/target/domain-1-st-work/org.qemu.guest_agent.0"/><target type="virtio" name="org.qemu.guest_agent.0" state="disconnected"/><alias name="channel0"/><address type="virtio-serial" controller="0" bus="0" port="1"/>`,
    );
    expect(parseDomainXml(live).devices.channels).toEqual([guestAgentChannel()]);
    expect(parseDomainXml(renderDomainXml({ ...spec, devices: { ...spec.devices, channels: [] } })).devices.channels).toBeUndefined();
  });

  it("is refused as a template setting that is not a boolean", () => {
    expect(() => parseLayout(layoutText("    guest_agent: yes please"), "stock.yaml")).toThrow(/guest_agent/);
  });
});

describe("agent requests", () => {
  it("guest-exec carries an argument array and stdin as base64", () => {
    expect(execRequest("/bin/bash", ["-c", "echo $1", "x", "a b"], "p1 icmp 10.0.0.1\n")).toEqual({
      execute: "guest-exec",
      arguments: { path: "/bin/bash", arg: ["-c", "echo $1", "x", "a b"], "capture-output": true, "input-data": "cDEgaWNtcCAxMC4wLjAuMQo=" },
    });
    expect(execRequest("/usr/bin/cloud-init", ["status"])).toEqual({ execute: "guest-exec", arguments: { path: "/usr/bin/cloud-init", arg: ["status"], "capture-output": true } });
  });

  it("guest-exec-status is decoded from base64; a signal counts as 128+n", () => {
    expect(execResult({ exited: true, exitcode: 0, "out-data": Buffer.from("bulkhead-probe p1 pass\n").toString("base64") })).toEqual({ exitcode: 0, stdout: "bulkhead-probe p1 pass\n", stderr: "" });
    expect(execResult({ exited: true, signal: 9 }).exitcode).toBe(137);
  });
});

describe("the stock world", () => {
  it("probes sshd and ICMP on stock qubes, the lab services on lab qubes; a client's connection to its provider's sshd must be blocked", () => {
    const l = stock();
    const world = labWorld(l, new Set(["debian"]));
    expect(world.qubes).toEqual({ debian: STOCK_SERVICES, "sys-net": STOCK_SERVICES, "sys-firewall": STOCK_SERVICES, work: STOCK_SERVICES, personal: STOCK_SERVICES });
    const flows = expectedFlows(l, world);
    const to = (from: string, dst: string) => flows.filter((f) => f.from === from && f.to === dst).map((f) => `${f.id} ${f.expect}`);
    expect(to("work", "sys-firewall")).toEqual(["work->sys-firewall icmp pass", "work->sys-firewall tcp/22 blocked"]);
    expect(to("sys-firewall", "sys-net")).toEqual(["sys-firewall->sys-net icmp pass", "sys-firewall->sys-net tcp/22 blocked"]);
    expect(to("work", "old")).toEqual(["work->old icmp blocked", "work->old tcp/7 blocked", "work->old tcp/80 blocked", "work->old udp/7 blocked"]);
    expect(labWorld(parseLayout(layoutText(""), "s.yaml"), new Set())).toBe(LAB_WORLD);
  });

  it("storage checks the template file of the AppVMs' template", () => {
    const l = stock();
    const file = (p: ReturnType<typeof planStorage>) => p.boots.flatMap((b) => b.lines).filter((x) => x.scope === "lib").map((x) => x.name);
    expect(file(planStorage(l, (t) => (t === "debian" ? STOCK_TEMPLATE_FILE : TEMPLATE_FILE)))).toEqual(["os-release", "os-release"]);
    expect(file(planStorage(l))).toEqual(["probes", "probes"]);
  });
});

function runner(input: string, deadline: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile("bash", ["-c", AGENT_PROBES, "bulkhead-probes", String(deadline)], { timeout: 60_000, env }, (err, stdout) => (err ? rej(err) : res(String(stdout))));
    child.stdin!.end(input);
  });
}

describe("the agent probe runner (bash, against this machine's loopback)", () => {
  it("passes a TCP connect that is accepted, blocks one that is refused, skips invalid lines and says when it is done", async () => {
    const server: Server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const out = await runner(`# comment\np1 tcp 127.0.0.1 ${port}\np2 tcp 127.0.0.1 1\np3 udp 127.0.0.1 9\np4 tcp 127.0.0.1;id 1\nbad\n`, 2);
      expect([...parseProbeResults(out)]).toEqual([
        ["p1", "pass"],
        ["p2", "blocked"],
        ["p3", "blocked"],
      ].sort((a, b) => out.indexOf(`${a[0]} `) - out.indexOf(`${b[0]} `)));
      expect(out).toContain("bulkhead: error: invalid probe line skipped");
      expect(out.trimEnd().endsWith("bulkhead: probes done")).toBe(true);
    } finally {
      server.close();
    }
  });

  it("starts no attempt past the deadline: a refused probe with deadline 4 tries at 0, 1 and 3 s, not at 6", async () => {
    // A `timeout` on PATH that logs when each attempt starts (bash's own clock, from 0) and fails it.
    const bin = mkdtempSync(join(tmpdir(), "bulkhead-runner-"));
    const log = join(bin, "attempts");
    writeFileSync(join(bin, "timeout"), `#!/bin/bash\necho $(( $(date +%s) - START )) >> ${JSON.stringify(log)}\nexit 1\n`, { mode: 0o755 });
    try {
      const start = Math.floor(Date.now() / 1000);
      const out = await runner("p1 tcp 127.0.0.1 1\n", 4, { ...process.env, PATH: `${bin}:${process.env["PATH"] ?? ""}`, START: String(start) });
      expect([...parseProbeResults(out)]).toEqual([["p1", "blocked"]]);
      const at = readFileSync(log, "utf8").trim().split("\n").map(Number);
      // Pauses of 1, then 2 s: attempts at 0, 1, 3; the next would start at 6, past 4.
      expect(at.length).toBe(3);
      expect(Math.max(...at)).toBeLessThan(4 + 1);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
