// The resolved layout: what `loadLayout` hands to the components once the YAML
// has been parsed, validated by the zod schema (layout/schema.ts, the contract's
// single source of truth) and cross-checked. Every default is applied here and
// every address assigned, so components never re-derive them.

export type QubeClass = "AppVM" | "NetVM" | "ProxyVM" | "UsbVM" | "DispVM" | "StandaloneVM";
export type Label = "red" | "orange" | "yellow" | "green" | "gray" | "blue" | "purple" | "black";
export type DomainType = "kvm" | "qemu";

export interface ResolvedHost {
  uri: string;
  domainType: DomainType;
  pool: string;
  poolPath: string;
  prefix: string;
  /** Directories (normalised, on the machine that runs bulkhead) template images may come from. */
  images: string[];
  /** MiB the host can give to qubes, if declared. */
  memory?: number;
}

export interface BootSpec {
  kernel: string;
  initrd?: string;
  cmdline?: string;
}

/** One user account of `cloud_init.users`, as the layout wrote it (checked). */
export interface CloudInitUser {
  name: string;
  ssh_authorized_keys?: string[];
  /** crypt(3) hash; the account gets console (not SSH) password login. */
  password_hash?: string;
  groups?: string[];
  /** Passwordless sudo. */
  sudo?: boolean;
  shell?: string;
}

export interface CloudInitFile {
  path: string;
  content: string;
  permissions?: string;
  owner?: string;
  append?: boolean;
}

/**
 * A person's cloud-init settings (docs/layout.md `cloud_init`), merged: for a qube, its
 * template's users and keys first, then its own. bulkhead's own files and commands are
 * not in here; components/seed.ts puts them after these.
 */
export interface CloudInitSettings {
  users: CloudInitUser[];
  /** For the image's default user. */
  ssh_authorized_keys: string[];
  packages: string[];
  write_files: CloudInitFile[];
  /** A string is one shell line; a list is one command and its arguments. */
  runcmd: (string | string[])[];
}

export interface ResolvedTemplate {
  name: string;
  /** A normalised path under one of `host.images`, or an https:// URL. */
  image: string;
  /** The digest an https:// image must match. */
  sha256?: string;
  format: "qcow2" | "raw";
  boot?: BootSpec;
  memory: number;
  vcpus: number;
  label: Label;
  /** Allowed by the format, but a policy violation (template-offline). */
  netvm: string | null;
  /** Present when netvm is not null: its port on that netvm's client network. */
  addressing?: QubeAddressing;
  /**
   * The image runs qemu-guest-agent: the template's domain and every qube
   * booting its image get the agent's virtio channel (prove probes through it).
   */
  guestAgent?: boolean;
  /** The template's own cloud-init settings (its seed); absent when the layout gives none. */
  cloudInit?: CloudInitSettings;
}

/** One `qvm-firewall` rule, validated; `expire`d rules are already left out. */
export interface FirewallRule {
  action: "accept" | "drop";
  /** Address or CIDR, normalised to `a.b.c.d/len` (IPv4) or `x::/len` (IPv6). */
  dsthost?: string;
  proto?: "tcp" | "udp" | "icmp";
  /** Inclusive port range; a single port has start === end. */
  dstports?: { start: number; end: number };
  icmptype?: number;
  specialtarget?: "dns";
  comment?: string;
}

export type Uplink =
  | { kind: "pci"; addresses: string[] }
  | { kind: "macvtap"; dev: string }
  | { kind: "bridge"; bridge: string }
  | { kind: "network"; network: string };

export interface Display {
  type: "spice" | "vnc";
  listen: string;
}

/** Addresses of a networked qube on its netvm's client network. */
export interface QubeAddressing {
  /** The qube's own address, e.g. 10.137.0.12. */
  ip: string;
  /** Prefix length of the client network the address lives on. */
  prefix: number;
  /** The netvm's address on that network (the default route). */
  gateway: string;
  /** DNS servers the qube is told to use (the netvm's address). */
  dns: string[];
  /** Locally administered MAC, derived from the name (stable). */
  mac: string;
}

/** What a qube that provides network (NetVM, ProxyVM) serves to its clients. */
export interface ProvidedNetwork {
  /** libvirt network name (prefix applied). */
  network: string;
  /** Client subnet, e.g. 10.137.1.0/24. */
  subnet: string;
  /** The provider's own address on it (its clients' gateway). */
  gateway: string;
  /** Client subnet for DispVMs, e.g. 10.138.1.0/24. */
  dispvmSubnet: string;
  /** The provider's address on the DispVM subnet (DispVM clients' gateway). */
  dispvmGateway: string;
  /** The provider's MAC on its client network. */
  mac: string;
}

export interface ResolvedQube {
  name: string;
  class: QubeClass;
  /** TemplateVM for most classes; the dispvm-template AppVM for a DispVM. */
  template: string;
  /** The TemplateVM whose root image the qube ultimately boots (DispVM: via its AppVM). */
  rootTemplate: string;
  netvm: string | null;
  label: Label;
  memory: number;
  maxmem?: number;
  vcpus: number;
  autostart: boolean;
  /** Private volume size in bytes (absent for a DispVM). */
  privateBytes?: number;
  /**
   * `discard_data: true`: `up` may delete or replace the qube's private volume
   * (and a StandaloneVM's root). Absent: they are kept whatever the layout does.
   */
  discardData?: true;
  /**
   * The qube's previous names (`renamed_from`), oldest first: its Pulumi
   * resources are aliased to them, and its persistent volumes keep the name
   * they were made with (the oldest's), so their data stays.
   */
  renamedFrom?: string[];
  /** A DispVM whose template AppVM was renamed: the name that AppVM's private volume carries. */
  templateStorage?: string;
  templateForDispvms: boolean;
  firewall: FirewallRule[];
  uplink?: Uplink;
  devices: { pci: string[]; usb: { vendor: string; product: string }[] };
  display?: Display;
  kernelopts?: string;
  /** Present when netvm is not null. */
  addressing?: QubeAddressing;
  /** Present for NetVM and ProxyVM. */
  provides?: ProvidedNetwork;
  /** A NetVM's uplink interface MAC (network, bridge or macvtap uplink), unique in the layout. */
  uplinkMac?: string;
  /** Its template's users and keys, then its own settings; absent when neither gives any. */
  cloudInit?: CloudInitSettings;
}

export interface ResolvedLayout {
  /** Path the layout was read from (as given). */
  source: string;
  host: ResolvedHost;
  templates: ResolvedTemplate[];
  /** Qubes in dependency order: every qube comes after its netvm and its DispVM template. */
  qubes: ResolvedQube[];
}

/** Where a value came from in the YAML, for error messages. */
export interface LayoutIssue {
  /** Dotted path, e.g. `qubes.work.netvm`; `""` for the document itself. */
  path: string;
  /** 1-based line, when known. */
  line?: number;
  message: string;
}
