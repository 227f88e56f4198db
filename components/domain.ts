// Pure builders of a Domain's inputs, shared by every class: disks, devices,
// metadata, boot. The components only choose which disks and NICs a class has.
import type { BootSpec, Display, ResolvedHost, ResolvedQube } from "../layout/model";
import type {
  BulkheadMetadata,
  ChannelSpec,
  DiskSpec,
  DomainArgs,
  GraphicsSpec,
  HostdevSpec,
  InterfaceSpec,
  SerialSpec,
} from "../libvirt/types";
import { domainName, serialLogPath } from "./naming";

export interface DomainPlan {
  host: ResolvedHost;
  /** Layout source path, for the metadata. */
  layout: string;
  /** Layout name of the qube or template. */
  name: string;
  class: BulkheadMetadata["class"];
  netvm: string | null;
  template?: string;
  label: string;
  /** MiB. */
  memory: number;
  /** An AppVM, StandaloneVM or DispVM with `provides_network` (recorded in the metadata for the pack). */
  providesNetwork?: boolean;
  /** MiB; Qubes' balloon ceiling; 0 = no memory balancing (fixed at `memory`). */
  maxmem?: number;
  vcpus: number;
  boot?: BootSpec;
  kernelopts?: string;
  disks: DiskSpec[];
  interfaces: InterfaceSpec[];
  devices?: ResolvedQube["devices"];
  display?: Display;
  autostart: boolean;
  running: boolean;
  /** The image runs qemu-guest-agent (the template's `guest_agent`): add its channel. */
  guestAgent?: boolean;
}

export function domainArgs(plan: DomainPlan): DomainArgs {
  const name = domainName(plan.host, plan.name);
  const metadata: BulkheadMetadata = { class: plan.class, qube: plan.name, label: plan.label, layout: plan.layout };
  if (plan.netvm !== null) metadata.netvm = plan.netvm;
  if (plan.template !== undefined) metadata.template = plan.template;
  if (plan.providesNetwork === true) metadata.providesNetwork = true;
  const args: DomainArgs = {
    uri: plan.host.uri,
    name,
    type: plan.host.domainType,
    // libvirt's `memory` is the ceiling and `currentMemory` the start, as Qubes' maxmem/memory.
    // maxmem 0 (Qubes: no balancing) is a fixed size, like no maxmem at all.
    memory: plan.maxmem === undefined || plan.maxmem === 0 ? plan.memory : plan.maxmem,
    vcpu: plan.vcpus,
    metadata,
    os: osFor(plan.boot, plan.kernelopts),
    // ACPI: libvirt hot-plugs transient disks' overlays at start, which needs it.
    features: { acpi: true },
    devices: {
      disks: plan.disks,
      interfaces: plan.interfaces,
      hostdevs: hostdevs(plan.devices ?? { pci: [], usb: [] }),
      graphics: graphics(plan.display),
      serials: [serialLog(name)],
      ...(plan.guestAgent === true ? { channels: [guestAgentChannel()] } : {}),
    },
    autostart: plan.autostart,
    running: plan.running,
  };
  if (plan.maxmem !== undefined && plan.maxmem !== 0) args.currentMemory = plan.memory;
  return args;
}

/** Direct kernel boot from the template's kernel, with the qube's kernelopts appended; else the root disk. */
export function osFor(boot: BootSpec | undefined, kernelopts?: string): DomainArgs["os"] {
  if (boot === undefined) return { type: "hvm", boot: ["hd"] };
  const os: DomainArgs["os"] = { type: "hvm", kernel: boot.kernel };
  if (boot.initrd !== undefined) os.initrd = boot.initrd;
  const cmdline = [boot.cmdline, kernelopts].filter((s): s is string => s !== undefined && s !== "").join(" ");
  if (cmdline !== "") os.cmdline = cmdline;
  return os;
}

/** vda: the root. `transient` makes it a discard-on-shutdown view shared with other qubes. */
export function rootDisk(path: string, format: "qcow2" | "raw", transient: boolean): DiskSpec {
  const disk: DiskSpec = {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: format },
    source: { file: path },
    target: { dev: "vda", bus: "virtio" },
    serial: "root",
  };
  if (transient) disk.transient = { shareBacking: true };
  return disk;
}

/** vdb: the private volume (`/rw`); transient for a DispVM, which keeps nothing. */
export function privateDisk(path: string, transient: boolean): DiskSpec {
  const disk: DiskSpec = {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "qcow2" },
    source: { file: path },
    target: { dev: "vdb", bus: "virtio" },
    serial: "private",
  };
  if (transient) disk.transient = { shareBacking: true };
  return disk;
}

/** vdc: the NoCloud seed, read-only; the serial `cidata` lets the lab's init find it. */
export function seedDisk(path: string): DiskSpec {
  return {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "raw" },
    source: { file: path },
    target: { dev: "vdc", bus: "virtio" },
    readonly: true,
    serial: "cidata",
  };
}

export function hostdevs(devices: ResolvedQube["devices"]): HostdevSpec[] {
  return [...devices.pci.map(pciHostdev), ...devices.usb.map(usbHostdev)];
}

/** `DDDD:BB:SS.F` -> libvirt's address parts. */
export function pciHostdev(address: string): HostdevSpec {
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(address);
  if (m === null) throw new Error(`not a PCI address: ${address}`);
  return {
    mode: "subsystem",
    type: "pci",
    managed: true,
    source: { address: { domain: `0x${m[1]}`, bus: `0x${m[2]}`, slot: `0x${m[3]}`, function: `0x${m[4]}` } },
  };
}

export function usbHostdev(dev: { vendor: string; product: string }): HostdevSpec {
  const hex = (s: string) => (s.startsWith("0x") ? s : `0x${s}`);
  return {
    mode: "subsystem",
    type: "usb",
    managed: true,
    source: { vendor: { id: hex(dev.vendor) }, product: { id: hex(dev.product) } },
  };
}

export function graphics(display: Display | undefined): GraphicsSpec[] {
  if (display === undefined) return [];
  return [{ type: display.type, listen: { type: "address", address: display.listen }, autoport: true }];
}

/** The virtio channel qemu-guest-agent listens on; libvirt makes the host socket. */
export const GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0";

export function guestAgentChannel(): ChannelSpec {
  return { type: "unix", target: { type: "virtio", name: GUEST_AGENT_CHANNEL } };
}

export function serialLog(domain: string): SerialSpec {
  return { type: "file", source: { path: serialLogPath(domain) }, target: { port: 0 } };
}
