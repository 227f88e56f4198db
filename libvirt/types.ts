// Inputs of the project's libvirt resources (tokens.ts). They
// follow libvirt's XML nesting (domain -> devices -> interfaces[] ...) so a
// reader who knows `virsh dumpxml` knows these, and so policies can judge a
// hand-written program exactly like one built from a layout. Every resource
// carries the connection URI: the Node provider server ignores provider
// configuration (@pulumi/pulumi 3.248 drops it in `configure`), and the state then records
// which host each object lives on.
//
// These are plain data types (no pulumi.Input): components/resources.ts
// wraps them in `pulumi.Input<>` for programs, the provider receives them
// resolved, and the XML renderers and the policies read them as they are.

/** Common to every libvirt resource. */
export interface ConnectionArgs {
  /** libvirt connection URI, e.g. `qemu:///system`. */
  uri: string;
  /** libvirt object name (unique per kind on the host). */
  name: string;
}

// ---------------------------------------------------------------- Pool

export interface PoolArgs extends ConnectionArgs {
  /** Only directory pools are made by bulkhead. */
  type: "dir";
  target: { path: string };
  autostart?: boolean;
}

// ---------------------------------------------------------------- Volume

/** Files of a NoCloud seed (label `cidata`); the provider writes the image. */
export interface NoCloudSeed {
  metaData: string;
  userData: string;
  networkConfig?: string;
  /** Further files in the image root (e.g. `bulkhead.env` for the lab's guest init). */
  files?: Record<string, string>;
}

export interface VolumeArgs extends ConnectionArgs {
  /** Storage pool holding the volume. */
  pool: string;
  /** Size in bytes (for an import, at least the source's virtual size). */
  capacity: number;
  format: "qcow2" | "raw";
  /**
   * Fill the new volume (`vol-upload`) from a regular file on the machine running the
   * provider, which must lie under `imageDirs` once links are resolved, or from an https://
   * download that must match `sha256` (kept in a local cache). A qcow2 with a backing file is refused.
   */
  source?: { file: string } | { url: string; sha256: string };
  /** Directories a `source.file` may come from (the layout's `host.images`); required with one. */
  imageDirs?: string[];
  /** Make the volume a NoCloud seed image holding these files. */
  seed?: NoCloudSeed;
  /** Copy-on-write over another image (qcow2 only). */
  backingStore?: { path: string; format: "qcow2" | "raw" };
  /**
   * The volume holds someone's data (a private volume, a StandaloneVM's root):
   * the provider refuses any change that would replace or shrink it (at
   * check, so a preview fails before anything changes), never deletes it, and
   * takes an existing one of the same name and format back at create.
   */
  preserve?: boolean;
}

// ---------------------------------------------------------------- Network

export interface NetworkArgs extends ConnectionArgs {
  /** Bridge device; libvirt picks `virbrN` when absent. */
  bridge?: { name?: string; stp?: boolean; delay?: number };
  /** Absent = an isolated network: no forwarding or NAT through the host. */
  forward?: { mode: "nat" | "route" | "open" | "bridge"; dev?: string };
  /** Host addresses on the network; qube-facing networks have none. */
  ips?: { address: string; prefix: number }[];
  /** `isolated: true` isolates every port from the others unless an interface says otherwise. */
  port?: { isolated: boolean };
  mtu?: number;
  autostart?: boolean;
}

// ---------------------------------------------------------------- NwFilter

export type NwFilterProtocol =
  | "all"
  | "tcp"
  | "udp"
  | "icmp"
  | "all-ipv6"
  | "tcp-ipv6"
  | "udp-ipv6"
  | "icmpv6"
  | "mac"
  | "arp"
  | "ip"
  | "ipv6";

export interface NwFilterMatch {
  srcipaddr?: string;
  srcipmask?: number;
  dstipaddr?: string;
  /** Prefix length of `dstipaddr`. */
  dstipmask?: number;
  dstportstart?: number;
  dstportend?: number;
  /** ICMP type. */
  type?: number;
  /** connection state match, e.g. `NEW` or `ESTABLISHED,RELATED`. */
  state?: string;
  comment?: string;
}

export interface NwFilterRule {
  action: "accept" | "drop" | "reject" | "return" | "continue";
  /** From the guest's point of view: `out` is what the guest sends. */
  direction: "in" | "out" | "inout";
  /** -1000..1000; lower runs first. */
  priority: number;
  /** `false` turns off libvirt's automatic connection-state matching. */
  statematch?: boolean;
  protocol: NwFilterProtocol;
  match?: NwFilterMatch;
}

export interface NwFilterArgs extends ConnectionArgs {
  chain?: string;
  priority?: number;
  /** Filters included first, e.g. `clean-traffic` (anti-spoofing). */
  filterrefs?: { filter: string; parameters?: Record<string, string> }[];
  rules: NwFilterRule[];
  /**
   * DNS names the rules were resolved from, each with the addresses it gave at deploy
   * time (`a.b.c.d/32`, `x/128`). Not part of the filter XML: kept in the state, shown
   * in the preview, so a change of what a name resolves to is a visible diff.
   */
  hosts?: Record<string, string[]>;
}

// ---------------------------------------------------------------- Domain

/** What `<metadata>` says about the qube, so a live host says which qube is which. */
export interface BulkheadMetadata {
  class: "TemplateVM" | "AppVM" | "NetVM" | "ProxyVM" | "UsbVM" | "DispVM" | "StandaloneVM";
  /** The qube's name in the layout (the libvirt name may carry a prefix). */
  qube: string;
  netvm?: string;
  template?: string;
  label: string;
  /** The layout file the qube came from. */
  layout: string;
  /** An AppVM, StandaloneVM or DispVM that provides network to clients (Qubes' `provides_network`). */
  providesNetwork?: true;
}

export interface DiskSpec {
  /** `file` only: bulkhead points disks at volume paths. */
  type: "file";
  device: "disk" | "cdrom";
  driver: { name: "qemu"; type: "qcow2" | "raw" };
  source: { file: string };
  target: { dev: string; bus: "virtio" | "sata" | "scsi" | "ide" };
  /** Discard-on-shutdown overlay; `shareBacking` lets several domains share the source. */
  transient?: { shareBacking: boolean };
  readonly?: boolean;
  /** Guest-visible serial, e.g. `root` or `private`. */
  serial?: string;
}

export interface InterfaceSpec {
  type: "network" | "bridge" | "direct";
  /** network: `{ network }`; bridge: `{ bridge }`; direct (macvtap): `{ dev, mode }`. */
  source: { network?: string; bridge?: string; dev?: string; mode?: "vepa" | "bridge" | "private" | "passthrough" };
  mac: { address: string };
  model: { type: "virtio" | "e1000" | "rtl8139" };
  /** Per-port isolation override (`<port isolated='no'/>` for a provider's own port). */
  port?: { isolated: boolean };
  filterref?: { filter: string; parameters?: Record<string, string> };
}

export type HostdevSpec =
  | {
      mode: "subsystem";
      type: "pci";
      managed: boolean;
      /** PCI address `DDDD:BB:SS.F` split into its parts (hex strings with 0x). */
      source: { address: { domain: string; bus: string; slot: string; function: string } };
    }
  | {
      mode: "subsystem";
      type: "usb";
      managed?: boolean;
      /** Hex ids with 0x, e.g. `0x046d`. */
      source: { vendor: { id: string }; product: { id: string } };
    };

export interface GraphicsSpec {
  type: "spice" | "vnc";
  /** `address` with an address, or `socket` for a local unix socket. */
  listen: { type: "address"; address: string } | { type: "socket"; socket?: string } | { type: "none" };
  autoport?: boolean;
}

export interface SerialSpec {
  type: "file" | "pty";
  /** For `file`: where the console is logged on the host. */
  source?: { path: string };
  target?: { port: number };
}

/**
 * A host-guest channel: `unix` with a virtio target, the way qemu-guest-agent
 * is reached (`org.qemu.guest_agent.0`). libvirt chooses the socket path and
 * adds the virtio-serial controller; neither is part of the spec.
 */
export interface ChannelSpec {
  type: "unix";
  target: { type: "virtio"; name: string };
}

export interface ControllerSpec {
  type: "usb" | "pci" | "virtio-serial";
  model?: string;
  index?: number;
}

export interface DomainArgs extends ConnectionArgs {
  type: "kvm" | "qemu";
  /** MiB. */
  memory: number;
  /** MiB; at most `memory`. */
  currentMemory?: number;
  vcpu: number;
  metadata: BulkheadMetadata;
  os: {
    type: "hvm";
    arch?: string;
    machine?: string;
    kernel?: string;
    initrd?: string;
    cmdline?: string;
    boot?: ("hd" | "cdrom" | "network")[];
  };
  features: { acpi: boolean; apic?: boolean };
  devices: {
    disks: DiskSpec[];
    interfaces: InterfaceSpec[];
    hostdevs: HostdevSpec[];
    graphics: GraphicsSpec[];
    serials: SerialSpec[];
    /** Absent or empty: no channel (nothing is added behind the layout's back). */
    channels?: ChannelSpec[];
    controllers?: ControllerSpec[];
  };
  /** Raw `<qemu:commandline>` arguments; bulkhead never sets it, policies forbid it. */
  qemuCommandline?: string[];
  /** Start with the host (`virsh autostart`). */
  autostart: boolean;
  /** Keep the domain running (start it after define). */
  running: boolean;
}

/** Outputs the provider adds to a domain's inputs. */
export interface DomainOutputs {
  uuid: string;
}

/** Outputs the provider adds to a volume's inputs. */
export interface VolumeOutputs {
  /** Path of the volume on the host. */
  path: string;
}

/** Outputs the provider adds to a network's inputs. */
export interface NetworkOutputs {
  uuid: string;
  /** Bridge device libvirt gave the network. */
  bridgeName: string;
}
