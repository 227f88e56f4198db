// A correct small layout's libvirt resources, written the way the components
// write them (see the conventions in policies/README.md). Violating cases take
// this and change one thing.
import { createHash } from "node:crypto";
import type {
  DiskSpec,
  DomainArgs,
  InterfaceSpec,
  NetworkArgs,
  NwFilterArgs,
  PoolArgs,
  VolumeArgs,
} from "../../libvirt/types";
import type { ResourceInput } from "../../policies/model";

export const POOL_PATH = "/var/lib/libvirt/bulkhead";
const URI = "qemu:///system";
type QubeClass = DomainArgs["metadata"]["class"];

export const vol = (name: string): string => `${POOL_PATH}/${name}`;

function disk(file: string, dev: string, serial: string, transient: boolean): DiskSpec {
  const d: DiskSpec = {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "qcow2" },
    source: { file },
    target: { dev, bus: "virtio" },
    serial,
  };
  if (transient) d.transient = { shareBacking: true };
  return d;
}

/** A MAC per port, distinct for every port of the fixtures (client-port-isolation checks it). */
function fixtureMac(seed: string): string {
  const tail = [...createHash("sha256").update(seed).digest().subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}

export function clientPort(prefix: string, qube: string, provider: string, ip: string): InterfaceSpec {
  return {
    type: "network",
    source: { network: `${prefix}${provider}-clients` },
    mac: { address: fixtureMac(`${prefix}${qube}->${provider}`) },
    model: { type: "virtio" },
    filterref: { filter: `${prefix}${qube}-fw`, parameters: { IP: ip } },
  };
}

export function providerPort(prefix: string, provider: string): InterfaceSpec {
  return {
    type: "network",
    source: { network: `${prefix}${provider}-clients` },
    mac: { address: fixtureMac(`${prefix}${provider}:clients`) },
    model: { type: "virtio" },
    port: { isolated: false },
  };
}

export interface QubeSpec {
  qube: string;
  class: QubeClass;
  netvm?: string;
  template: string;
  memory?: number;
  autostart?: boolean;
  interfaces?: InterfaceSpec[];
  pci?: string[];
}

export function domainArgs(prefix: string, q: QubeSpec): DomainArgs {
  const root = q.class === "TemplateVM" || q.class === "StandaloneVM" ? `${q.qube}-root.qcow2` : `${q.template}-root.qcow2`;
  const disks =
    q.class === "TemplateVM"
      ? [disk(vol(`${prefix}${root}`), "vda", "root", false)]
      : [
          disk(vol(`${prefix}${root}`), "vda", "root", q.class !== "StandaloneVM"),
          disk(vol(`${prefix}${q.qube}-private.qcow2`), "vdb", "private", false),
        ];
  return {
    uri: URI,
    name: `${prefix}${q.qube}`,
    type: "kvm",
    memory: q.memory ?? 400,
    vcpu: 2,
    metadata: { class: q.class, qube: q.qube, netvm: q.netvm, template: q.template, label: "gray", layout: "test.yaml" },
    os: { type: "hvm" },
    features: { acpi: true },
    devices: {
      disks,
      interfaces: q.interfaces ?? [],
      hostdevs: (q.pci ?? []).map((a) => {
        const [domain, bus, rest] = a.split(":");
        const [slot, fn] = rest.split(".");
        return {
          mode: "subsystem" as const,
          type: "pci" as const,
          managed: true,
          source: { address: { domain: `0x${domain}`, bus: `0x${bus}`, slot: `0x${slot}`, function: `0x${fn}` } },
        };
      }),
      graphics: [],
      serials: [{ type: "pty" }],
    },
    autostart: q.autostart ?? false,
    running: true,
  };
}

export function clientNetwork(prefix: string, provider: string): NetworkArgs {
  return { uri: URI, name: `${prefix}${provider}-clients`, port: { isolated: true }, autostart: true };
}

export function firewall(prefix: string, qube: string): NwFilterArgs {
  return {
    uri: URI,
    name: `${prefix}${qube}-fw`,
    filterrefs: [{ filter: "clean-traffic", parameters: {} }],
    rules: [
      { action: "accept", direction: "out", priority: 100, protocol: "udp", match: { dstportstart: 53 } },
      { action: "accept", direction: "out", priority: 110, protocol: "tcp", match: { dstportstart: 443 } },
      { action: "drop", direction: "out", priority: 900, protocol: "all" },
      { action: "drop", direction: "out", priority: 900, protocol: "all-ipv6" },
    ],
  };
}

const volume = (prefix: string, name: string): VolumeArgs => ({
  uri: URI,
  name: `${prefix}${name}`,
  pool: "bulkhead",
  capacity: 2 * 1024 ** 3,
  format: "qcow2",
});

/**
 * debian-12 (template), sys-net (NetVM, PCI NIC), sys-firewall (ProxyVM), sys-usb (UsbVM, PCI USB
 * controller), work (AppVM behind sys-firewall), vault (offline AppVM), dvm (dispvm template) and
 * untrusted (DispVM): the spec's example layout.
 */
export function layoutResources(prefix = ""): ResourceInput[] {
  const T = "debian-12";
  const qubes: QubeSpec[] = [
    { qube: T, class: "TemplateVM", template: T, memory: 1024 },
    { qube: "sys-net", class: "NetVM", template: T, autostart: true, pci: ["0000:03:00.0"], interfaces: [providerPort(prefix, "sys-net")] },
    {
      qube: "sys-firewall", class: "ProxyVM", template: T, netvm: "sys-net", autostart: true,
      interfaces: [clientPort(prefix, "sys-firewall", "sys-net", "10.137.0.2"), providerPort(prefix, "sys-firewall")],
    },
    { qube: "sys-usb", class: "UsbVM", template: T, autostart: true, pci: ["0000:00:14.0"] },
    { qube: "work", class: "AppVM", template: T, netvm: "sys-firewall", memory: 2048, interfaces: [clientPort(prefix, "work", "sys-firewall", "10.137.1.2")] },
    { qube: "vault", class: "AppVM", template: T },
    { qube: "dvm", class: "AppVM", template: T, netvm: "sys-firewall", interfaces: [clientPort(prefix, "dvm", "sys-firewall", "10.137.1.3")] },
    { qube: "untrusted", class: "DispVM", template: "dvm", netvm: "sys-firewall", interfaces: [clientPort(prefix, "untrusted", "sys-firewall", "10.138.1.2")] },
  ];
  const domains = qubes.map((q) => domainArgs(prefix, q));
  // A DispVM boots its dvm template's root and a discard-on-shutdown view of the dvm's private.
  const untrusted = domains[domains.length - 1];
  untrusted.devices.disks = [
    disk(vol(`${prefix}${T}-root.qcow2`), "vda", "root", true),
    disk(vol(`${prefix}dvm-private.qcow2`), "vdb", "private", true),
  ];
  const pool: PoolArgs = { uri: URI, name: "bulkhead", type: "dir", target: { path: POOL_PATH } };
  const volumes = [`${T}-root.qcow2`, ...qubes.filter((q) => q.class !== "TemplateVM" && q.class !== "DispVM").map((q) => `${q.qube}-private.qcow2`)];
  const out: ResourceInput[] = [{ type: "bulkhead:libvirt:Pool", name: "pool", inputs: { ...pool } }];
  for (const v of volumes) out.push({ type: "bulkhead:libvirt:Volume", name: v, inputs: { ...volume(prefix, v) } });
  for (const p of ["sys-net", "sys-firewall"]) {
    out.push({ type: "bulkhead:libvirt:Network", name: `${p}-clients`, inputs: { ...clientNetwork(prefix, p) } });
  }
  for (const q of ["sys-firewall", "work", "dvm", "untrusted"]) {
    out.push({ type: "bulkhead:libvirt:NwFilter", name: `${q}-fw`, inputs: { ...firewall(prefix, q) } });
  }
  for (const d of domains) out.push({ type: "bulkhead:libvirt:Domain", name: d.metadata.qube, inputs: { ...d } });
  // A component resource: its props must be ignored.
  out.push({ type: "bulkhead:qubes:AppVM", name: "work", inputs: { netvm: "sys-net" } });
  return out;
}

/** The resources with one Domain's inputs, typed, for a test to change. */
export function domainOf(resources: ResourceInput[], qube: string): DomainArgs {
  const r = resources.find((x) => x.type === "bulkhead:libvirt:Domain" && (x.inputs as unknown as DomainArgs).metadata.qube === qube);
  if (r === undefined) throw new Error(`fixture has no domain ${qube}`);
  return r.inputs as unknown as DomainArgs;
}

export function networkOf(resources: ResourceInput[], name: string): NetworkArgs {
  const r = resources.find((x) => x.type === "bulkhead:libvirt:Network" && x.inputs.name === name);
  if (r === undefined) throw new Error(`fixture has no network ${name}`);
  return r.inputs as unknown as NetworkArgs;
}

export function filterOf(resources: ResourceInput[], name: string): NwFilterArgs {
  const r = resources.find((x) => x.type === "bulkhead:libvirt:NwFilter" && x.inputs.name === name);
  if (r === undefined) throw new Error(`fixture has no nwfilter ${name}`);
  return r.inputs as unknown as NwFilterArgs;
}
