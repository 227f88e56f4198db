import { describe, expect, it } from "vitest";
import { DispVM } from "../../components/dispvm";
import { StandaloneVM } from "../../components/standalonevm";
import { UsbVM } from "../../components/usbvm";
import { GiB, debian, host, legacy, sysUsb, untrusted } from "./fixtures";
import { children, inputs, run } from "./sim";

const layoutSource = "stacks/example.yaml";
type DomainInputs = { devices: { disks: unknown[]; interfaces: unknown[]; hostdevs: unknown[] }; metadata: unknown };

const seedDisk = (qube: string) => ({
  type: "file",
  device: "disk",
  driver: { name: "qemu", type: "raw" },
  source: { file: `/var/lib/libvirt/bulkhead/${qube}-seed.iso` },
  target: { dev: "vdc", bus: "virtio" },
  readonly: true,
  serial: "cidata",
});

describe("UsbVM", () => {
  it("holds the USB controller and devices, offline", async () => {
    const records = await run(() => {
      new UsbVM("sys-usb", { host, layoutSource, qube: sysUsb, template: debian });
    });
    expect(children(records, "sys-usb")).toEqual([
      "bulkhead:libvirt:Domain sys-usb-domain",
      "bulkhead:libvirt:Volume sys-usb-private",
      "bulkhead:libvirt:Volume sys-usb-seed",
    ]);
    const domain = inputs(records, "sys-usb-domain") as DomainInputs;
    expect(domain.devices.interfaces).toEqual([]);
    expect(domain.devices.hostdevs).toEqual([
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x00", slot: "0x14", function: "0x0" } } },
      { mode: "subsystem", type: "usb", managed: true, source: { vendor: { id: "0x046d" }, product: { id: "0xc52b" } } },
    ]);
  });

  it("gets a filtered interface like an AppVM when given a netvm", async () => {
    const qube = { ...sysUsb, netvm: "sys-firewall", addressing: { ...legacy.addressing!, ip: "10.137.1.9" } };
    const records = await run(() => {
      new UsbVM("sys-usb", { host, layoutSource, qube, template: debian });
    });
    expect(children(records, "sys-usb")).toContain("bulkhead:libvirt:NwFilter sys-usb-fw");
    expect((inputs(records, "sys-usb-domain") as DomainInputs).devices.interfaces).toEqual([
      {
        type: "network",
        source: { network: "sys-firewall-clients" },
        mac: { address: "52:54:00:c4:9f:ea" },
        model: { type: "virtio" },
        filterref: { filter: "sys-usb-fw", parameters: { IP: "10.137.1.9" } },
      },
    ]);
  });
});

describe("DispVM", () => {
  it("keeps nothing: transient root and transient view of its dvm template's private volume, no volume of its own but the seed", async () => {
    const records = await run(() => {
      new DispVM("untrusted", { host, layoutSource, qube: untrusted, template: debian });
    });
    expect(children(records, "untrusted")).toEqual([
      "bulkhead:libvirt:Domain untrusted-domain",
      "bulkhead:libvirt:NwFilter untrusted-fw",
      "bulkhead:libvirt:Volume untrusted-seed",
    ]);
    const domain = inputs(records, "untrusted-domain") as DomainInputs;
    expect(domain.devices.disks).toEqual([
      {
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: "/var/lib/libvirt/bulkhead/debian-12-root.qcow2" },
        target: { dev: "vda", bus: "virtio" },
        serial: "root",
        transient: { shareBacking: true },
      },
      {
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: "/var/lib/libvirt/bulkhead/dvm-private.qcow2" },
        target: { dev: "vdb", bus: "virtio" },
        serial: "private",
        transient: { shareBacking: true },
      },
      seedDisk("untrusted"),
    ]);
    expect(domain.devices.interfaces).toEqual([
      {
        type: "network",
        source: { network: "sys-firewall-clients" },
        mac: { address: "52:54:00:63:53:de" },
        model: { type: "virtio" },
        filterref: { filter: "untrusted-fw", parameters: { IP: "10.138.1.2" } },
      },
    ]);
    expect(domain.metadata).toEqual({ class: "DispVM", qube: "untrusted", netvm: "sys-firewall", template: "dvm", label: "red", layout: layoutSource });
  });
});

describe("StandaloneVM", () => {
  it("owns a persistent full copy of its template's image", async () => {
    const records = await run(() => {
      new StandaloneVM("legacy", { host, layoutSource, qube: legacy, template: debian });
    });
    expect(children(records, "legacy")).toEqual([
      "bulkhead:libvirt:Domain legacy-domain",
      "bulkhead:libvirt:NwFilter legacy-fw",
      "bulkhead:libvirt:Volume legacy-private",
      "bulkhead:libvirt:Volume legacy-root",
      "bulkhead:libvirt:Volume legacy-seed",
    ]);
    expect(inputs(records, "legacy-root")).toEqual({
      uri: "qemu:///system",
      name: "legacy-root.qcow2",
      imageDirs: ["/var/lib/libvirt/images"],
      pool: "bulkhead",
      capacity: 8 * GiB,
      format: "qcow2",
      source: { file: "/var/lib/bulkhead-lab/images/root.qcow2" },
      preserve: true,
    });
    const disks = (inputs(records, "legacy-domain") as DomainInputs).devices.disks;
    expect(disks.slice(0, 2)).toEqual([
      {
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: "/var/lib/libvirt/bulkhead/legacy-root.qcow2" },
        target: { dev: "vda", bus: "virtio" },
        serial: "root",
      },
      {
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: "/var/lib/libvirt/bulkhead/legacy-private.qcow2" },
        target: { dev: "vdb", bus: "virtio" },
        serial: "private",
      },
    ]);
  });
});

