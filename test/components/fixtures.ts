// Resolved layouts built by hand (the loader is tested elsewhere): the spec's
// example, with the lab's kernel boot and a libvirt-network uplink.
import type { ResolvedHost, ResolvedLayout, ResolvedQube, ResolvedTemplate } from "../../layout/model";

export const GiB = 1024 ** 3;
export const DNS = ["10.139.1.1", "10.139.1.2"];

export const host: ResolvedHost = {
  uri: "qemu:///system",
  domainType: "kvm",
  pool: "bulkhead",
  poolPath: "/var/lib/libvirt/bulkhead",
  prefix: "",
  images: ["/var/lib/libvirt/images"],
};

export const debian: ResolvedTemplate = {
  name: "debian-12",
  image: "/var/lib/bulkhead-lab/images/root.qcow2",
  format: "qcow2",
  boot: { kernel: "/var/lib/bulkhead-lab/images/vmlinuz", initrd: "/var/lib/bulkhead-lab/images/initrd.img", cmdline: "console=ttyS0" },
  memory: 1024,
  vcpus: 2,
  label: "black",
  netvm: null,
};

const base = {
  template: "debian-12",
  rootTemplate: "debian-12",
  memory: 400,
  vcpus: 2,
  autostart: false,
  privateBytes: 2 * GiB,
  templateForDispvms: false,
  firewall: [{ action: "accept" as const }],
  devices: { pci: [], usb: [] },
};

export const sysNet: ResolvedQube = {
  ...base,
  name: "sys-net",
  class: "NetVM",
  netvm: null,
  label: "red",
  autostart: true,
  firewall: [],
  uplink: { kind: "network", network: "bulkhead-lab-uplink" },
  provides: {
    network: "sys-net-clients",
    subnet: "10.137.0.0/24",
    gateway: "10.137.0.1",
    dispvmSubnet: "10.138.0.0/24",
    dispvmGateway: "10.138.0.1",
    mac: "52:54:00:d8:86:d1",
  },
};

export const sysFirewall: ResolvedQube = {
  ...base,
  name: "sys-firewall",
  class: "ProxyVM",
  netvm: "sys-net",
  label: "green",
  autostart: true,
  addressing: { ip: "10.137.0.2", prefix: 24, gateway: "10.137.0.1", dns: DNS, mac: "52:54:00:b2:f1:93" },
  provides: {
    network: "sys-firewall-clients",
    subnet: "10.137.1.0/24",
    gateway: "10.137.1.1",
    dispvmSubnet: "10.138.1.0/24",
    dispvmGateway: "10.138.1.1",
    mac: "52:54:00:e1:9f:69",
  },
};

export const sysUsb: ResolvedQube = {
  ...base,
  name: "sys-usb",
  class: "UsbVM",
  netvm: null,
  label: "red",
  autostart: true,
  firewall: [],
  devices: { pci: ["0000:00:14.0"], usb: [{ vendor: "046d", product: "c52b" }] },
};

export const work: ResolvedQube = {
  ...base,
  name: "work",
  class: "AppVM",
  netvm: "sys-firewall",
  label: "blue",
  memory: 2048,
  maxmem: 4096,
  firewall: [
    { action: "accept", specialtarget: "dns" },
    { action: "accept", proto: "tcp", dstports: { start: 443, end: 443 } },
  ],
  display: { type: "spice", listen: "127.0.0.1" },
  kernelopts: "quiet",
  addressing: { ip: "10.137.1.2", prefix: 24, gateway: "10.137.1.1", dns: DNS, mac: "52:54:00:00:e1:3e" },
};

export const vault: ResolvedQube = { ...base, name: "vault", class: "AppVM", netvm: null, label: "black", firewall: [] };

export const dvm: ResolvedQube = {
  ...base,
  name: "dvm",
  class: "AppVM",
  netvm: "sys-firewall",
  label: "red",
  templateForDispvms: true,
  addressing: { ip: "10.137.1.3", prefix: 24, gateway: "10.137.1.1", dns: DNS, mac: "52:54:00:eb:c2:b2" },
};

export const untrusted: ResolvedQube = {
  ...base,
  name: "untrusted",
  class: "DispVM",
  template: "dvm",
  netvm: "sys-firewall",
  label: "red",
  privateBytes: undefined,
  addressing: { ip: "10.138.1.2", prefix: 24, gateway: "10.138.1.1", dns: DNS, mac: "52:54:00:63:53:de" },
};

export const legacy: ResolvedQube = {
  ...base,
  name: "legacy",
  class: "StandaloneVM",
  netvm: "sys-firewall",
  label: "yellow",
  addressing: { ip: "10.137.1.4", prefix: 24, gateway: "10.137.1.1", dns: DNS, mac: "52:54:00:c4:9f:ea" },
};

export const example: ResolvedLayout = {
  source: "stacks/example.yaml",
  host,
  templates: [debian],
  qubes: [sysNet, sysFirewall, sysUsb, work, vault, dvm, untrusted, legacy],
};

