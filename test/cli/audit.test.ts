// `bulkhead audit` without a host: the pure half (XML strings -> LiveHost ->
// report) and the command's exit status when the host cannot be reached.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { auditExitCode, auditReport, formatAuditText } from "../../cli/audit";
import { liveHostFromXml, readFilter, type HostXml } from "../../libvirt/host";
import type { SimulatedResource } from "../../components/simulate";
import { simulateLayout } from "../../components/simulate";
import type { DomainArgs, NetworkArgs, NwFilterArgs } from "../../libvirt/types";
import { renderDomainXml } from "../../libvirt/xml/domain";
import { renderNetworkXml } from "../../libvirt/xml/network";
import { renderNwFilterXml } from "../../libvirt/xml/nwfilter";
import { parseLayout } from "../../layout/load";
import { evaluate } from "../../policies/evaluate";
import { fromLiveHost, fromResources } from "../../policies/model";

const LAYOUT = `version: 1
host: { domainType: qemu, pool: a-pool, poolPath: /srv/a, prefix: "a-", images: [/srv] }
defaults: { template: t, netvm: sys-firewall, memory: 128, vcpus: 1 }
templates:
  t: { image: /srv/src.img, format: raw }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { network: a-uplink }, autostart: false }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net, autostart: false }
  work: { class: AppVM, label: blue }
  personal: { class: AppVM, label: yellow }
  vault: { class: AppVM, label: black, netvm: null }
`;

// What libvirt writes for its own filters: clean-traffic includes others; allow-arp
// has a rule without a protocol element, which bulkhead's strict parser rejects.
const CLEAN_TRAFFIC = `<filter name='clean-traffic' chain='root'>
  <uuid>652ef8c9-5756-491b-8bea-e9a56f1b0e86</uuid>
  <filterref filter='no-arp-spoofing'/>
  <rule action='accept' direction='out' priority='-650'>
    <mac protocolid='ipv4'/>
  </rule>
  <filterref filter='allow-arp'/>
</filter>`;
const NO_ARP_SPOOFING = `<filter name='no-arp-spoofing' chain='root'>
  <uuid>f4cacdbd-c869-470c-9f17-57204955f7ff</uuid>
</filter>`;
const ALLOW_ARP = `<filter name='allow-arp' chain='arp' priority='-500'>
  <uuid>87bc5a4a-c27f-46eb-aec7-c215ba7dcaf8</uuid>
  <rule action='accept' direction='inout' priority='500'/>
</filter>`;
// Someone else's domain on the same host: no bulkhead metadata, ignored.
const FOREIGN = `<domain type='qemu'>
  <name>other-vm</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/><model type='virtio'/></interface>
  </devices>
</domain>`;
const DEFAULT_NET = `<network><name>default</name><forward mode='nat'/><ip address='192.168.122.1' prefix='24'/></network>`;

let resources: SimulatedResource[] = [];
const domains = (): DomainArgs[] =>
  resources.filter((r) => r.type === "bulkhead:libvirt:Domain").map((r) => r.inputs as unknown as DomainArgs);
const of = <T>(kind: string): T[] => resources.filter((r) => r.type === `bulkhead:libvirt:${kind}`).map((r) => r.inputs as T);
const domain = (qube: string): DomainArgs => {
  const d = domains().find((x) => x.metadata.qube === qube);
  if (d === undefined) throw new Error(`no domain for ${qube}`);
  return structuredClone(d);
};

/** The host as `virsh` would show it after the layout was deployed, with `edit` applied to the domains. */
function hostXml(edit: (d: DomainArgs) => DomainArgs = (d) => d): HostXml {
  const uplink: NetworkArgs = { uri: "qemu:///system", name: "a-uplink", port: { isolated: true } };
  return {
    uri: "qemu:///system",
    domains: [...domains().map((d) => renderDomainXml(edit(structuredClone(d)))), FOREIGN],
    autostart: [],
    running: [],
    networks: [...of<NetworkArgs>("Network"), uplink].map((n) => renderNetworkXml(n)).concat(DEFAULT_NET),
    filters: of<NwFilterArgs>("NwFilter").map((f) => renderNwFilterXml(f)).concat(CLEAN_TRAFFIC, NO_ARP_SPOOFING, ALLOW_ARP),
  };
}

const verdicts = (xml: HostXml) => evaluate(fromLiveHost(liveHostFromXml(xml)));

beforeAll(async () => {
  resources = (await simulateLayout(parseLayout(LAYOUT, "/srv/audit.yaml"))).filter((r) => r.custom);
});

describe("liveHostFromXml", () => {
  test("keeps bulkhead's domains, the networks they use and the filters they reach", () => {
    const host = liveHostFromXml(hostXml());
    expect(host.domains.map((d) => d.name)).toEqual(["a-personal", "a-sys-firewall", "a-sys-net", "a-t", "a-vault", "a-work"]);
    expect(host.networks.map((n) => n.name)).toEqual(["a-sys-firewall-clients", "a-sys-net-clients", "a-uplink"]);
    expect(host.filters.map((f) => f.name)).toEqual([
      "a-personal-fw",
      "a-sys-firewall-fw",
      "a-work-fw",
      "allow-arp",
      "clean-traffic",
      "no-arp-spoofing",
    ]);
    expect([host.pools, host.volumes]).toEqual([[], []]);
  });

  test("reads back exactly the inputs the layout declared", () => {
    const host = liveHostFromXml(hostXml());
    const work = host.domains.find((d) => d.name === "a-work");
    const { running: _r, ...declared } = domain("work");
    expect(work).toEqual({ ...declared, running: false });
    // A network's autostart is not in its XML (nor read: no rule looks at it).
    const { autostart: _a, ...network } = of<NetworkArgs>("Network").find((n) => n.name === "a-sys-net-clients") as NetworkArgs;
    expect(host.networks.find((n) => n.name === "a-sys-net-clients")).toEqual(network);
  });

  test("a deployed layout has the same verdicts as bulkhead check: none", async () => {
    expect(verdicts(hostXml())).toEqual([]);
    expect(evaluate(fromResources(resources))).toEqual([]);
  });

  test("takes autostart and running from the lists, not the XML", () => {
    const host = liveHostFromXml({ ...hostXml(), autostart: ["a-sys-net"], running: ["a-work"] });
    expect(host.domains.filter((d) => d.autostart).map((d) => d.name)).toEqual(["a-sys-net"]);
    expect(host.domains.filter((d) => d.running).map((d) => d.name)).toEqual(["a-work"]);
  });

  test("--prefix keeps only the domains named with it, and what they use", () => {
    const host = liveHostFromXml(hostXml(), { prefix: "a-w" });
    expect(host.domains.map((d) => d.name)).toEqual(["a-work"]);
    expect(host.networks.map((n) => n.name)).toEqual(["a-sys-firewall-clients"]);
    expect(host.filters.map((f) => f.name)).toEqual(["a-work-fw", "allow-arp", "clean-traffic", "no-arp-spoofing"]);
    expect(liveHostFromXml(hostXml(), { prefix: "b-" }).domains).toEqual([]);
  });

  test("a domain of ours the parser cannot read is an error; someone else's is skipped", () => {
    const broken = (xml: string) => xml.replace(/<memory[^<]*<\/memory>/, "");
    const base = hostXml();
    expect(liveHostFromXml({ ...base, domains: [...base.domains, broken(FOREIGN)] }).domains).toHaveLength(6);
    const work = renderDomainXml(domain("work"));
    expect(() => liveHostFromXml({ ...base, domains: [broken(work)] })).toThrow("domain a-work: <domain> has no <memory>");
  });
});

describe("readFilter", () => {
  test("a built-in filter the strict parser rejects keeps its name and includes", () => {
    expect(readFilter(ALLOW_ARP)).toEqual({ name: "allow-arp", filterrefs: [], rules: [] });
    expect(readFilter(CLEAN_TRAFFIC)).toEqual({
      name: "clean-traffic",
      chain: "root",
      filterrefs: [{ filter: "no-arp-spoofing" }, { filter: "allow-arp" }],
      rules: [{ action: "accept", direction: "out", priority: -650, protocol: "mac" }],
    });
  });
});

describe("hand edits are violations", () => {
  test("a client's filterref removed: egress-filtered on that qube", () => {
    const xml = hostXml((d) => {
      if (d.metadata.qube === "work") d.devices.interfaces[0] = { ...d.devices.interfaces[0], filterref: undefined };
      return d;
    });
    expect(verdicts(xml)).toEqual([
      {
        policy: "egress-filtered",
        level: "mandatory",
        qube: "work",
        message: `work: its interface on "a-sys-firewall-clients" has no nwfilter, so its egress is unfiltered; add a filterref to the qube's firewall filter`,
      },
    ]);
  });

  test("a client's port opened (isolated='no')", () => {
    const xml = hostXml((d) => {
      if (d.metadata.qube === "personal") d.devices.interfaces[0] = { ...d.devices.interfaces[0], port: { isolated: false } };
      return d;
    });
    expect(verdicts(xml)).toEqual([
      {
        policy: "client-port-isolation",
        level: "mandatory",
        qube: "personal",
        message:
          `personal: AppVM "personal" has a non-isolated port (isolated=false) on network "a-sys-firewall-clients"; ` +
          "only the provider's port may be: remove the port override",
      },
    ]);
  });

  test("a USB device given to an AppVM: usb-confined", () => {
    const xml = hostXml((d) => {
      if (d.metadata.qube === "vault") {
        d.devices.hostdevs.push({ mode: "subsystem", type: "usb", managed: false, source: { vendor: { id: "0x046d" }, product: { id: "0xc52b" } } });
      }
      return d;
    });
    expect(verdicts(xml)).toEqual([
      {
        policy: "usb-confined",
        level: "mandatory",
        qube: "vault",
        message: `vault: AppVM "vault" has USB device 046d:c52b passed through; USB devices belong to the UsbVM: pass it there instead`,
      },
    ]);
  });

  test("memory-budget runs only with --host-memory", () => {
    const xml = { ...hostXml(), autostart: ["a-sys-net", "a-sys-firewall"] };
    const host = liveHostFromXml(xml);
    expect(evaluate(fromLiveHost(host))).toEqual([]);
    expect(evaluate(fromLiveHost(host), { hostMemoryMiB: 200 }).map((v) => `${v.level} ${v.policy} ${v.qube}`)).toEqual([
      "advisory memory-budget dom0",
    ]);
  });
});

describe("the report", () => {
  const host = () => liveHostFromXml(hostXml());
  const usb = {
    policy: "usb-confined",
    level: "mandatory" as const,
    qube: "vault",
    message: "vault: AppVM has USB device 046d:c52b",
  };
  const memory = { policy: "memory-budget", level: "advisory" as const, qube: "dom0", message: "dom0: too much" };

  test("nothing found: ok, exit 0", () => {
    const r = auditReport("qemu:///system", host(), []);
    expect(r).toEqual({
      uri: "qemu:///system",
      ok: true,
      violations: [],
      summary: { domains: 6, networks: 3, filters: 6, mandatory: 0, advisory: 0 },
    });
    expect(auditExitCode(r)).toBe(0);
    expect(formatAuditText(r)).toBe(
      "qemu:///system: ok: 6 bulkhead domains, 3 networks, 6 nwfilters, 0 mandatory and 0 advisory violations\n",
    );
  });

  test("an advisory alone passes; a mandatory violation fails with exit 1", () => {
    expect(auditExitCode(auditReport("u", host(), [memory]))).toBe(0);
    const r = auditReport("qemu:///system", host(), [memory, usb]);
    expect([r.ok, r.summary.mandatory, r.summary.advisory, auditExitCode(r)]).toEqual([false, 1, 1, 1]);
    expect(formatAuditText(r)).toBe(
      "advisory memory-budget (dom0): dom0: too much\n" +
        "mandatory usb-confined (vault): vault: AppVM has USB device 046d:c52b\n" +
        "qemu:///system: FAILED: 6 bulkhead domains, 3 networks, 6 nwfilters, 1 mandatory and 1 advisory violations\n",
    );
  });
});

describe("bulkhead audit (the command)", () => {
  const root = join(__dirname, "..", "..");
  const run = async (args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, "dist", "cli", "main.js"), ...args], { cwd: root });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof e.code !== "number") throw error;
      return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  };

  test("an unreachable host: exit 2 and one line naming the URI and the fix", async () => {
    // TLS without a CA certificate fails at once, before it even dials.
    const r = await run(["audit", "--uri", "qemu+tls://127.0.0.1:1/system", "--json"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "bulkhead audit: cannot reach libvirt at qemu+tls://127.0.0.1:1/system: failed to connect to the hypervisor: " +
        "Cannot read CA certificate '/etc/pki/CA/cacert.pem': No such file or directory; check that libvirtd runs there and that you " +
        "may connect (root or group libvirt), or pass --uri\n",
    });
  });

  test("--host-memory must be a positive number: usage error, exit 2", async () => {
    const r = await run(["audit", "--host-memory", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: option '--host-memory <MiB>' argument '0' is invalid. expected a positive whole number\n" +
        "(run bulkhead --help for usage)\n",
    );
  });
});
