// The normalised model the policies judge: what a libvirt host holds (or would
// hold), built only from the inputs of the project's libvirt resources. Layout
// YAML and component props are never read, so a hand-written program and a live
// host are held to the same rules. Adapters are pure; the rules never see raw
// resource inputs.
import type { BulkheadMetadata, NwFilterRule } from "../libvirt/types";
import type { LiveHost } from "../libvirt/host";
import { LAYOUT_TYPE, LIBVIRT_TYPE_PREFIX } from "../libvirt/tokens";

export type QubeClass = BulkheadMetadata["class"];

/** Stands for a value the engine cannot know before deploying (e.g. a new volume's path). */
export const UNKNOWN = "<unknown until deployed>";

export interface DiskModel {
  /** Host file the disk points at, or UNKNOWN. */
  file: string;
  device: "disk" | "cdrom";
  /** Guest device, e.g. `vda`. */
  target: string;
  serial?: string;
  /** Discard-on-shutdown overlay. */
  transient: boolean;
  readonly: boolean;
}

export interface InterfaceModel {
  type: "network" | "bridge" | "direct";
  /** type network: the libvirt network (UNKNOWN when not yet known). */
  network?: string;
  /** type bridge: the host bridge. */
  bridge?: string;
  /** type direct (macvtap): the host device. */
  dev?: string;
  /** The port's own isolation override; undefined = the network's default. */
  portIsolated?: boolean;
  /** Lower-case MAC address, when declared. */
  mac?: string;
  filter?: { name: string; parameters: Record<string, string> };
}

export type GraphicsListen = { type: "address"; address: string } | { type: "socket" } | { type: "none" };

export interface DomainModel {
  /** Resource name (Pulumi) or, on a live host, the libvirt name; maps findings back to URNs. */
  resource: string;
  /** libvirt domain name (prefix included). */
  name: string;
  /** The qube's name; the libvirt name when the domain carries no metadata. */
  qube: string;
  /** A domain without bulkhead metadata is judged as an AppVM, the most restricted client. */
  class: QubeClass;
  /** The metadata's `providesNetwork`: an AppVM, StandaloneVM or DispVM that gives network (Qubes' provides_network). */
  providesNetwork: boolean;
  /** What the metadata declares; the wiring itself is read from the interfaces. */
  netvm?: string;
  template?: string;
  layout?: string;
  memoryMiB: number;
  currentMemoryMiB?: number;
  autostart: boolean;
  disks: DiskModel[];
  interfaces: InterfaceModel[];
  /** PCI addresses, normalised `dddd:bb:ss.f`. */
  pci: string[];
  /** USB ids, normalised `vvvv:pppp`. */
  usb: string[];
  graphics: { type: string; listen: GraphicsListen }[];
  qemuCommandline: string[];
}

export interface NetworkModel {
  resource: string;
  name: string;
  ips: { address: string; prefix: number }[];
  forward?: { mode: string; dev?: string };
  /** Network-wide port isolation (`<port isolated='yes'/>`). */
  portIsolated: boolean;
  bridge?: string;
}

export interface FilterModel {
  resource: string;
  name: string;
  filterrefs: { filter: string; parameters: Record<string, string> }[];
  rules: NwFilterRule[];
}

export interface VolumeModel {
  resource: string;
  name: string;
  pool: string;
  /** Host path when known: the input/output `path`, else the pool's directory plus the name. */
  path?: string;
  backingStore?: string;
  /** What the volume is filled from: a local file or an https:// URL (absent on a live host). */
  source?: string;
}

export interface HostModel {
  domains: DomainModel[];
  networks: NetworkModel[];
  filters: FilterModel[];
  volumes: VolumeModel[];
  /** Target directories of the storage pools, when known. */
  poolDirs?: string[];
  /** MiB the host gives qubes, as the program's Layout component declares it (`host.memory`). */
  hostMemoryMiB?: number;
}

/** The component whose own inputs carry `host.memory` (components/wiring.ts `layoutProps`). */
export { LAYOUT_TYPE };

/** One libvirt resource as a preview, a mock run or a state file shows it. */
export interface ResourceInput {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const TYPE = LIBVIRT_TYPE_PREFIX;

// Pulumi's wire sentinels for unknown values (stable protocol constants).
const UNKNOWN_SENTINELS = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

export function isKnown(value: string | undefined): value is string {
  return value !== undefined && value !== UNKNOWN;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
/** A string, UNKNOWN for an engine sentinel, undefined when absent. */
function str(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  return UNKNOWN_SENTINELS.has(v) ? UNKNOWN : v;
}
function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) {
    const s = str(x);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

const CLASSES: readonly QubeClass[] = ["TemplateVM", "AppVM", "NetVM", "ProxyVM", "UsbVM", "DispVM", "StandaloneVM"];

/** `0x0000`,`0x03`,`0x00`,`0x0` -> `0000:03:00.0`, so the same device compares equal however written. */
export function pciAddress(a: { domain?: unknown; bus?: unknown; slot?: unknown; function?: unknown }): string {
  const part = (v: unknown, width: number) =>
    (str(v) ?? "?").toLowerCase().replace(/^0x/, "").padStart(width, "0");
  return `${part(a.domain, 4)}:${part(a.bus, 2)}:${part(a.slot, 2)}.${part(a.function, 1)}`;
}

export function usbId(vendor: unknown, product: unknown): string {
  const part = (v: unknown) => (str(v) ?? "?").toLowerCase().replace(/^0x/, "").padStart(4, "0");
  return `${part(vendor)}:${part(product)}`;
}

function listen(v: unknown): GraphicsListen {
  const l = obj(v);
  if (l.type === "socket") return { type: "socket" };
  if (l.type === "none") return { type: "none" };
  // A listen without an address is QEMU's default, which may be every interface.
  return { type: "address", address: str(l.address) ?? "" };
}

export function domainModel(resource: string, inputs: Obj): DomainModel {
  const meta = obj(inputs.metadata);
  const devices = obj(inputs.devices);
  const name = str(inputs.name) ?? resource;
  const cls = str(meta.class);
  const pci: string[] = [];
  const usb: string[] = [];
  for (const h of arr(devices.hostdevs).map(obj)) {
    const source = obj(h.source);
    if (h.type === "pci") pci.push(pciAddress(obj(source.address)));
    if (h.type === "usb") usb.push(usbId(obj(source.vendor).id, obj(source.product).id));
  }
  return {
    resource,
    name,
    qube: str(meta.qube) ?? name,
    class: CLASSES.find((c) => c === cls) ?? "AppVM",
    providesNetwork: meta.providesNetwork === true,
    netvm: str(meta.netvm) || undefined,
    template: str(meta.template) || undefined,
    layout: str(meta.layout),
    memoryMiB: num(inputs.memory) ?? 0,
    currentMemoryMiB: num(inputs.currentMemory),
    autostart: bool(inputs.autostart) ?? false,
    disks: arr(devices.disks).map(obj).map((d) => ({
      file: str(obj(d.source).file) ?? "",
      device: d.device === "cdrom" ? "cdrom" : "disk",
      target: str(obj(d.target).dev) ?? "",
      serial: str(d.serial),
      transient: d.transient !== undefined && d.transient !== null,
      readonly: bool(d.readonly) ?? false,
    })),
    interfaces: arr(devices.interfaces).map(obj).map((i): InterfaceModel => {
      const source = obj(i.source);
      const filter = obj(i.filterref);
      const filterName = str(filter.filter);
      return {
        type: i.type === "bridge" ? "bridge" : i.type === "direct" ? "direct" : "network",
        network: str(source.network),
        bridge: str(source.bridge),
        dev: str(source.dev),
        portIsolated: bool(obj(i.port).isolated),
        mac: str(obj(i.mac).address)?.toLowerCase(),
        filter: filterName === undefined ? undefined : { name: filterName, parameters: strMap(filter.parameters) },
      };
    }),
    pci,
    usb,
    graphics: arr(devices.graphics).map(obj).map((g) => ({ type: str(g.type) ?? "", listen: listen(g.listen) })),
    qemuCommandline: arr(inputs.qemuCommandline).map((a) => str(a) ?? UNKNOWN),
  };
}

export function networkModel(resource: string, inputs: Obj): NetworkModel {
  const forward = obj(inputs.forward);
  const mode = str(forward.mode);
  return {
    resource,
    name: str(inputs.name) ?? resource,
    ips: arr(inputs.ips).map(obj).map((ip) => ({ address: str(ip.address) ?? "", prefix: num(ip.prefix) ?? 0 })),
    forward: mode === undefined ? undefined : { mode, dev: str(forward.dev) },
    portIsolated: bool(obj(inputs.port).isolated) ?? false,
    bridge: str(obj(inputs.bridge).name),
  };
}

export function filterModel(resource: string, inputs: Obj): FilterModel {
  return {
    resource,
    name: str(inputs.name) ?? resource,
    filterrefs: arr(inputs.filterrefs)
      .map(obj)
      .map((f) => ({ filter: str(f.filter) ?? "", parameters: strMap(f.parameters) })),
    // Rules are read as declared; the checks look only at action, direction, priority, protocol, match.
    rules: arr(inputs.rules).map((r) => obj(r) as unknown as NwFilterRule),
  };
}

export function volumeModel(resource: string, inputs: Obj, poolPaths: ReadonlyMap<string, string>): VolumeModel {
  const name = str(inputs.name) ?? resource;
  const pool = str(inputs.pool) ?? "";
  const own = str(inputs.path);
  const dir = poolPaths.get(pool);
  return {
    resource,
    name,
    pool,
    // A dir pool keeps each volume at <target path>/<volume name>.
    path: isKnown(own) ? own : dir === undefined ? undefined : `${dir.replace(/\/+$/, "")}/${name}`,
    backingStore: str(obj(inputs.backingStore).path),
    source: str(obj(inputs.source).file) ?? str(obj(inputs.source).url),
  };
}

/** Model of the libvirt resources of a preview, a mock run or a state file; other types are ignored. */
export function fromResources(resources: readonly ResourceInput[]): HostModel {
  const of = (kind: string) => resources.filter((r) => r.type === TYPE + kind);
  const poolPaths = new Map<string, string>();
  for (const p of of("Pool")) {
    const path = str(obj(p.inputs.target).path);
    if (isKnown(path)) poolPaths.set(str(p.inputs.name) ?? p.name, path);
  }
  const memory = resources.map((r) => (r.type === LAYOUT_TYPE ? num(r.inputs.hostMemoryMiB) : undefined)).find((m) => m !== undefined);
  return {
    domains: of("Domain").map((r) => domainModel(r.name, r.inputs)),
    networks: of("Network").map((r) => networkModel(r.name, r.inputs)),
    filters: of("NwFilter").map((r) => filterModel(r.name, r.inputs)),
    volumes: of("Volume").map((r) => volumeModel(r.name, r.inputs, poolPaths)),
    poolDirs: [...new Set(poolPaths.values())].map((d) => d.replace(/\/+$/, "")).sort(),
    ...(memory === undefined ? {} : { hostMemoryMiB: memory }),
  };
}

/** The seam for `bulkhead audit`: a live host as the live-host reader (libvirt/host.ts) parses it. */
export type { LiveHost };

export function fromLiveHost(host: LiveHost): HostModel {
  const as = (kind: string, list: readonly { name: string }[]): ResourceInput[] =>
    list.map((args) => ({ type: TYPE + kind, name: args.name, inputs: { ...args } }));
  return fromResources([
    ...as("Pool", host.pools),
    ...as("Domain", host.domains),
    ...as("Network", host.networks),
    ...as("NwFilter", host.filters),
    ...as("Volume", host.volumes),
  ]);
}
