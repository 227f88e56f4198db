// Generates realistic layouts of any size, for benchmarks and scale tests:
// one NetVM, a firewall ProxyVM and a VPN ProxyVM behind it, a UsbVM, a
// disposable template with some DispVMs, and AppVMs cycling through everyday
// profiles, each with a few qvm-firewall rules. Deterministic: the same
// arguments give the same layout, so a benchmark always checks the same thing.
//
//   node dist/scripts/gen-layout.js 200 [--lab] > /tmp/l200.yaml
import { Document, isMap, isScalar, isSeq, visit } from "yaml";

export interface GenerateOptions {
  /**
   * The embedded lab's flavour: the `lab` template of stacks/dev.yaml (raw
   * image, direct kernel boot), QEMU emulation, the lab's uplink network, no
   * devices, small qubes; its own prefix and pool so it can share the lab host.
   */
  lab?: boolean;
}

/** A firewall rule as written in a layout (qvm-firewall keys). */
export interface GeneratedRule {
  action: "accept" | "drop";
  dsthost?: string;
  proto?: "tcp" | "udp" | "icmp";
  dstports?: number | string;
  icmptype?: number;
  specialtarget?: "dns";
  comment?: string;
}

export interface GeneratedQube {
  class: "AppVM" | "NetVM" | "ProxyVM" | "UsbVM" | "DispVM";
  label: string;
  template?: string;
  netvm?: string | null;
  memory?: number;
  maxmem?: number;
  private?: string;
  template_for_dispvms?: boolean;
  firewall?: GeneratedRule[];
  uplink?: { pci: string[] } | { network: string };
  devices?: { pci: string[] };
}

/** The layout as YAML would hold it (input form, before the loader applies defaults). */
export interface GeneratedLayout {
  version: 1;
  host: Record<string, string | number | string[]>;
  defaults: Record<string, string | number>;
  templates: Record<string, Record<string, unknown>>;
  qubes: Record<string, GeneratedQube>;
}

/** NetVM, two ProxyVMs, UsbVM, the dvm AppVM, one DispVM and one AppVM. */
export const MIN_QUBES = 7;
/** Non-DispVM clients one provider can number (layout/addresses.ts: a /24 minus gateway and broadcast). */
const CLIENTS_PER_PROVIDER = 253;

/** The lab template, as in stacks/dev.yaml (the test holds the two equal). */
export const LAB_TEMPLATE = {
  image: "/var/lib/bulkhead-lab/images/root.img",
  format: "raw",
  boot: {
    kernel: "/var/lib/bulkhead-lab/images/vmlinuz",
    initrd: "/var/lib/bulkhead-lab/images/initrd.img",
    cmdline: "console=ttyS0 panic=-1",
  },
  memory: 160,
  guest_agent: true,
};

const dns: GeneratedRule = { action: "accept", specialtarget: "dns" };
const https: GeneratedRule = { action: "accept", proto: "tcp", dstports: 443 };

interface Profile {
  name: string;
  label: string;
  memory?: number;
  maxmem?: number;
  /** A second template (outside the lab) for some profiles, as real machines mix distributions. */
  fedora?: boolean;
  /** `null`: offline; undefined: defaults.netvm (sys-firewall). */
  netvm?: string | null;
  firewall?: GeneratedRule[];
}

// Ten profiles: one in ten AppVMs is offline, two in ten go through the VPN.
const PROFILES: readonly Profile[] = [
  {
    name: "work",
    label: "blue",
    memory: 2048,
    maxmem: 4096,
    firewall: [dns, https, { action: "accept", dsthost: "192.168.10.0/24", proto: "tcp", dstports: 22, comment: "office SSH" }],
  },
  { name: "personal", label: "yellow", memory: 1024, firewall: [dns, https, { action: "accept", proto: "tcp", dstports: 80 }] },
  {
    name: "dev",
    label: "purple",
    memory: 2048,
    maxmem: 8192,
    fedora: true,
    firewall: [dns, https, { action: "accept", proto: "tcp", dstports: 22, comment: "git over SSH" }, { action: "accept", proto: "tcp", dstports: "8000-8080" }],
  },
  {
    name: "mail",
    label: "green",
    memory: 800,
    firewall: [dns, { action: "accept", proto: "tcp", dstports: 993 }, { action: "accept", proto: "tcp", dstports: 587 }],
  },
  { name: "vault", label: "black", netvm: null },
  {
    name: "bank",
    label: "green",
    memory: 800,
    netvm: "sys-vpn",
    firewall: [dns, { action: "accept", dsthost: "2001:db8::/32", proto: "tcp", dstports: 443, comment: "bank only" }],
  },
  {
    name: "media",
    label: "orange",
    memory: 1024,
    fedora: true,
    firewall: [{ action: "drop", dsthost: "10.0.0.0/8", comment: "no LAN" }, dns, https, { action: "accept", proto: "udp", dstports: 443 }],
  },
  {
    name: "chat",
    label: "orange",
    memory: 600,
    firewall: [dns, https, { action: "accept", proto: "udp", dstports: "3478-3481" }, { action: "accept", proto: "icmp", icmptype: 8 }],
  },
  { name: "research", label: "red", memory: 1024, netvm: "sys-vpn", firewall: [dns, https, { action: "accept", proto: "tcp", dstports: 80 }] },
  { name: "print", label: "gray", memory: 400, firewall: [dns, { action: "accept", dsthost: "192.168.10.20", proto: "tcp", dstports: 631 }] },
];

/**
 * A layout of exactly `n` qubes (templates not counted). Throws a RangeError
 * below MIN_QUBES, or when the clients no longer fit behind the two ProxyVMs.
 */
export function generateLayout(n: number, opts: GenerateOptions = {}): GeneratedLayout {
  if (!Number.isInteger(n) || n < MIN_QUBES) throw new RangeError(`n must be a whole number of at least ${MIN_QUBES} qubes, not ${n}`);
  const lab = opts.lab === true;
  const base = lab ? "lab" : "debian-12";

  const qubes: Record<string, GeneratedQube> = {
    "sys-net": {
      class: "NetVM",
      label: "red",
      uplink: lab ? { network: "bulkhead-lab-uplink" } : { pci: ["0000:03:00.0"] },
    },
    "sys-firewall": { class: "ProxyVM", label: "green", netvm: "sys-net" },
    // A VPN qube chained behind the firewall, as Qubes users set up sys-vpn.
    "sys-vpn": { class: "ProxyVM", label: "blue", netvm: "sys-firewall" },
    // The lab has no USB controller to pass through; the UsbVM stays, offline.
    "sys-usb": lab ? { class: "UsbVM", label: "red" } : { class: "UsbVM", label: "red", devices: { pci: ["0000:00:14.0"] } },
    "default-dvm": { class: "AppVM", label: "red", template_for_dispvms: true, firewall: [dns, https] },
  };

  const rest = n - Object.keys(qubes).length;
  const dispvms = Math.max(1, Math.floor(rest / 8));
  const appvms = rest - dispvms;
  for (let i = 0; i < appvms; i++) {
    const p = PROFILES[i % PROFILES.length];
    const q: GeneratedQube = { class: "AppVM", label: p.label };
    if (p.fedora === true && !lab) q.template = "fedora-41";
    if (p.netvm !== undefined) q.netvm = p.netvm;
    // The lab's qubes all take defaults.memory: its host is small.
    if (!lab && p.memory !== undefined) q.memory = p.memory;
    if (!lab && p.maxmem !== undefined) q.maxmem = p.maxmem;
    if (p.name === "vault") q.private = "1GiB";
    if (p.firewall !== undefined) q.firewall = p.firewall.map((r) => ({ ...r }));
    qubes[`${p.name}-${Math.floor(i / PROFILES.length) + 1}`] = q;
  }
  for (let j = 0; j < dispvms; j++) {
    const q: GeneratedQube = { class: "DispVM", label: "red", template: "default-dvm" };
    // One disposable in three browses through the VPN.
    if (j % 3 === 2) q.netvm = "sys-vpn";
    qubes[`disp-${j + 1}`] = q;
  }
  checkCapacity(qubes);

  return {
    version: 1,
    host: lab
      ? {
          uri: "qemu:///system",
          domainType: "qemu",
          pool: "bulkhead-gen",
          poolPath: "/var/lib/libvirt/bulkhead-gen",
          prefix: "gen-",
          // The lab's images live in the lab's own image directory (lab/images/build.sh).
          images: ["/var/lib/bulkhead-lab/images"],
          memory: 3072,
        }
      : { uri: "qemu:///system", domainType: "kvm", memory: 32768 },
    defaults: lab ? { template: base, netvm: "sys-firewall", memory: 160, vcpus: 1 } : { template: base, netvm: "sys-firewall" },
    templates: lab
      ? { lab: structuredClone(LAB_TEMPLATE) }
      : {
          "debian-12": { image: "/var/lib/libvirt/images/debian-12-generic-amd64.qcow2" },
          "fedora-41": { image: "/var/lib/libvirt/images/Fedora-Cloud-Base-41.x86_64.qcow2" },
        },
    qubes,
  };
}

/** The loader numbers at most 253 qubes and 253 DispVMs per provider; say so here rather than there. */
function checkCapacity(qubes: Record<string, GeneratedQube>): void {
  const load = new Map<string, number>();
  for (const q of Object.values(qubes)) {
    const netvm = q.netvm === undefined ? (q.class === "NetVM" || q.class === "UsbVM" ? null : "sys-firewall") : q.netvm;
    if (netvm === null) continue;
    const key = `${netvm}${q.class === "DispVM" ? " DispVMs" : ""}`;
    load.set(key, (load.get(key) ?? 0) + 1);
  }
  for (const [who, count] of load) {
    if (count > CLIENTS_PER_PROVIDER) {
      throw new RangeError(`${Object.keys(qubes).length} qubes put ${count} clients on ${who}; at most ${CLIENTS_PER_PROVIDER} fit behind one ProxyVM`);
    }
  }
}

/** YAML text of a generated layout: block style, short maps and lists inline as people write them. */
export function layoutToYaml(layout: GeneratedLayout, header: string): string {
  const doc = new Document(layout);
  doc.commentBefore = header
    .split("\n")
    .map((l) => ` ${l}`)
    .join("\n");
  visit(doc, {
    Map(_, node, path) {
      // Firewall rules, uplinks, devices, boot: one line each.
      const parent = path[path.length - 1];
      const flat = node.items.every((pair) => isScalar(pair.value) || (isSeq(pair.value) && pair.value.items.every(isScalar)));
      if (flat && (isSeq(parent) || path.length > 4)) node.flow = true;
    },
    Seq(_, node) {
      if (node.items.every(isScalar)) node.flow = true;
    },
  });
  // A qube whose every value is a scalar or an inline map fits on one line too.
  const qubes = doc.get("qubes");
  if (isMap(qubes)) {
    for (const pair of qubes.items) {
      const q = pair.value;
      if (isMap(q) && !q.items.some((p) => isSeq(p.value) && !p.value.flow)) q.flow = true;
    }
  }
  return doc.toString({ lineWidth: 0 });
}

function usage(): string {
  return "usage: gen-layout <qubes> [--lab]   (at least " + MIN_QUBES + " qubes; prints a layout YAML on stdout)\n";
}

export function main(argv: string[]): number {
  const args = argv.filter((a) => a !== "--lab");
  const lab = args.length !== argv.length;
  if (args.length !== 1 || !/^\d+$/.test(args[0])) {
    process.stderr.write(usage());
    return 2;
  }
  const n = Number(args[0]);
  try {
    const layout = generateLayout(n, { lab });
    const header = `Generated by scripts/gen-layout.ts: ${n} qubes${lab ? ", lab flavour" : ""}.\nRegenerate rather than edit.`;
    process.stdout.write(layoutToYaml(layout, header));
    return 0;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(`gen-layout: ${error.message}\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
