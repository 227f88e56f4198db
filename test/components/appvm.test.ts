import { describe, expect, it } from "vitest";
import { AppVM } from "../../components/appvm";
import { Pool } from "../../components/resources";
import { DNS, GiB, debian, host, vault, work } from "./fixtures";
import { byName, children, dependencyNames, inputs, run } from "./sim";

const layoutSource = "stacks/example.yaml";

describe("AppVM", () => {
  it("creates its private volume, seed, filter and domain as children", async () => {
    const records = await run(() => {
      new AppVM("work", { host, layoutSource, qube: work, template: debian });
    });
    expect(byName(records, "work").type).toBe("bulkhead:qubes:AppVM");
    expect(children(records, "work")).toEqual([
      "bulkhead:libvirt:Domain work-domain",
      "bulkhead:libvirt:NwFilter work-fw",
      "bulkhead:libvirt:Volume work-private",
      "bulkhead:libvirt:Volume work-seed",
    ]);
    expect(inputs(records, "work-private")).toEqual({
      uri: "qemu:///system",
      name: "work-private.qcow2",
      pool: "bulkhead",
      capacity: 2 * GiB,
      format: "qcow2",
      preserve: true,
    });
    expect(inputs(records, "work-seed")).toMatchObject({ name: "work-seed.iso", pool: "bulkhead", format: "raw", capacity: 1024 ** 2 });
  });

  it("boots a transient view of the template's root, keeps its private volume and talks through its filter", async () => {
    const records = await run(() => {
      new AppVM("work", { host, layoutSource, qube: work, template: debian });
    });
    const domain = inputs(records, "work-domain");
    expect(domain).toEqual({
      uri: "qemu:///system",
      name: "work",
      type: "kvm",
      memory: 4096,
      currentMemory: 2048,
      vcpu: 2,
      metadata: { class: "AppVM", qube: "work", netvm: "sys-firewall", template: "debian-12", label: "blue", layout: layoutSource },
      os: {
        type: "hvm",
        kernel: "/var/lib/bulkhead-lab/images/vmlinuz",
        initrd: "/var/lib/bulkhead-lab/images/initrd.img",
        cmdline: "console=ttyS0 quiet",
      },
      features: { acpi: true },
      devices: {
        disks: [
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
            source: { file: "/var/lib/libvirt/bulkhead/work-private.qcow2" },
            target: { dev: "vdb", bus: "virtio" },
            serial: "private",
          },
          {
            type: "file",
            device: "disk",
            driver: { name: "qemu", type: "raw" },
            source: { file: "/var/lib/libvirt/bulkhead/work-seed.iso" },
            target: { dev: "vdc", bus: "virtio" },
            readonly: true,
            serial: "cidata",
          },
        ],
        interfaces: [
          {
            type: "network",
            source: { network: "sys-firewall-clients" },
            mac: { address: "52:54:00:00:e1:3e" },
            model: { type: "virtio" },
            filterref: { filter: "work-fw", parameters: { IP: "10.137.1.2" } },
          },
        ],
        hostdevs: [],
        graphics: [{ type: "spice", listen: { type: "address", address: "127.0.0.1" }, autoport: true }],
        serials: [{ type: "file", source: { path: "/var/log/libvirt/qemu/work.serial.log" }, target: { port: 0 } }],
      },
      autostart: false,
      running: false,
    });
  });

  it("compiles its firewall: clean-traffic, DNS, https, then the final drop", async () => {
    const records = await run(() => {
      new AppVM("work", { host, layoutSource, qube: work, template: debian });
    });
    const dns = (ip: string, protocol: string, priority: number) => ({
      action: "accept",
      direction: "out",
      priority,
      protocol,
      match: { dstipaddr: ip, dstipmask: 32, dstportstart: 53, dstportend: 53 },
    });
    expect(inputs(records, "work-fw")).toEqual({
      uri: "qemu:///system",
      name: "work-fw",
      chain: "root",
      filterrefs: [{ filter: "clean-traffic" }],
      rules: [
        dns(DNS[0], "tcp", 100),
        dns(DNS[0], "udp", 100),
        dns(DNS[1], "tcp", 100),
        dns(DNS[1], "udp", 100),
        { action: "accept", direction: "out", priority: 100, protocol: "tcp", match: { dstportstart: 443, dstportend: 443 } },
        { action: "accept", direction: "out", priority: 100, protocol: "tcp-ipv6", match: { dstportstart: 443, dstportend: 443 } },
        { action: "drop", direction: "out", priority: 1000, protocol: "all" },
        { action: "drop", direction: "out", priority: 1000, protocol: "all-ipv6" },
      ],
    });
  });

  it("waits for the pool (volumes) and for its own volumes, filter and given upstream (domain)", async () => {
    const records = await run(() => {
      const pool = new Pool("pool", { uri: host.uri, name: "bulkhead", type: "dir", target: { path: host.poolPath } });
      new AppVM("work", { host, layoutSource, qube: work, template: debian, pool, dependsOn: [pool] });
    });
    expect(dependencyNames(records, "work-private")).toEqual(["pool"]);
    expect(dependencyNames(records, "work-domain")).toEqual(["pool", "work-fw", "work-private", "work-seed"]);
  });

  it("has no filter and no interface when offline", async () => {
    const records = await run(() => {
      new AppVM("vault", { host, layoutSource, qube: vault, template: debian });
    });
    expect(children(records, "vault")).toEqual([
      "bulkhead:libvirt:Domain vault-domain",
      "bulkhead:libvirt:Volume vault-private",
      "bulkhead:libvirt:Volume vault-seed",
    ]);
    const domain = inputs(records, "vault-domain") as { devices: { interfaces: unknown[] }; metadata: Record<string, unknown> };
    expect(domain.devices.interfaces).toEqual([]);
    expect(domain.metadata).toEqual({ class: "AppVM", qube: "vault", template: "debian-12", label: "black", layout: layoutSource });
  });

  it("renders devices it should not have (a policy violation) faithfully", async () => {
    const qube = { ...vault, devices: { pci: ["0000:00:14.0"], usb: [{ vendor: "046d", product: "c52b" }] } };
    const records = await run(() => {
      new AppVM("vault", { host, layoutSource, qube, template: debian });
    });
    const domain = inputs(records, "vault-domain") as { devices: { hostdevs: unknown[] } };
    expect(domain.devices.hostdevs).toEqual([
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x00", slot: "0x14", function: "0x0" } } },
      { mode: "subsystem", type: "usb", managed: true, source: { vendor: { id: "0x046d" }, product: { id: "0xc52b" } } },
    ]);
  });
});
