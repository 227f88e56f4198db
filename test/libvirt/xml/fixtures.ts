// Specs used by the XML tests: one full-featured example per kind.
import type { DomainXmlSpec } from "../../../libvirt/xml/domain";
import type { NetworkXmlSpec } from "../../../libvirt/xml/network";
import type { NwFilterXmlSpec } from "../../../libvirt/xml/nwfilter";
import type { PoolXmlSpec } from "../../../libvirt/xml/pool";
import type { VolumeXmlSpec } from "../../../libvirt/xml/volume";

export const domainSpec: DomainXmlSpec = {
  name: "bh-work",
  type: "qemu",
  memory: 512,
  currentMemory: 256,
  vcpu: 2,
  metadata: { class: "AppVM", qube: "work", netvm: "sys-firewall", template: "debian", label: "blue", layout: "layout.yaml" },
  os: { type: "hvm", arch: "x86_64", machine: "pc", kernel: "/k/vmlinuz", initrd: "/k/initrd", cmdline: "console=ttyS0 quiet", boot: ["hd", "cdrom"] },
  features: { acpi: true, apic: true },
  devices: {
    disks: [
      {
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: "/pool/debian-root.qcow2" },
        target: { dev: "vda", bus: "virtio" },
        transient: { shareBacking: true },
        serial: "root",
      },
      {
        type: "file",
        device: "cdrom",
        driver: { name: "qemu", type: "raw" },
        source: { file: "/pool/bh-work-seed.iso" },
        target: { dev: "sda", bus: "sata" },
        readonly: true,
      },
    ],
    interfaces: [
      {
        type: "network",
        source: { network: "bh-sys-firewall-clients" },
        mac: { address: "52:54:00:12:34:56" },
        model: { type: "virtio" },
        port: { isolated: false },
        filterref: { filter: "bh-work-fw", parameters: { IP: "10.137.1.12" } },
      },
      { type: "direct", source: { dev: "eth0", mode: "bridge" }, mac: { address: "52:54:00:12:34:57" }, model: { type: "e1000" } },
    ],
    hostdevs: [
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x00", slot: "0x1f", function: "0x3" } } },
      { mode: "subsystem", type: "usb", managed: false, source: { vendor: { id: "0x046d" }, product: { id: "0xc52b" } } },
    ],
    graphics: [{ type: "spice", listen: { type: "address", address: "127.0.0.1" }, autoport: true }],
    serials: [{ type: "file", source: { path: "/var/log/bh-work.log" }, target: { port: 0 } }],
    controllers: [{ type: "usb", model: "qemu-xhci", index: 0 }],
  },
};

export const networkSpec: NetworkXmlSpec = {
  name: "bh-sys-net-clients",
  bridge: { name: "bhbr0", stp: false, delay: 0 },
  forward: { mode: "nat" },
  ips: [
    { address: "10.137.0.1", prefix: 24 },
    { address: "fd00::1", prefix: 64 },
  ],
  port: { isolated: true },
  mtu: 1400,
};

export const nwfilterSpec: NwFilterXmlSpec = {
  name: "bh-work-fw",
  chain: "root",
  priority: -700,
  filterrefs: [{ filter: "clean-traffic", parameters: { IP: "10.137.1.12" } }, { filter: "allow-arp" }],
  rules: [
    { action: "accept", direction: "out", priority: 100, protocol: "udp", match: { dstipaddr: "10.137.1.1", dstipmask: 32, dstportstart: 53, dstportend: 53, comment: "dns" } },
    { action: "accept", direction: "out", priority: 200, protocol: "tcp", match: { dstipaddr: "192.0.2.0", dstipmask: 24, dstportstart: 443, dstportend: 443, state: "NEW" } },
    { action: "accept", direction: "out", priority: 300, protocol: "icmp", match: { type: 8 } },
    { action: "drop", direction: "inout", priority: 1000, statematch: false, protocol: "all" },
  ],
};

export const poolSpec: PoolXmlSpec = { name: "bh-pool", type: "dir", target: { path: "/var/lib/bulkhead/pool" } };

export const volumeSpec: VolumeXmlSpec = {
  name: "bh-work-root.qcow2",
  capacity: 10737418240,
  format: "qcow2",
  backingStore: { path: "/var/lib/bulkhead/pool/debian.qcow2", format: "qcow2" },
};
