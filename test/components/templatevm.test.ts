import { describe, expect, it } from "vitest";
import { TemplateVM } from "../../components/templatevm";
import { GiB, debian, host } from "./fixtures";
import { children, inputs, run } from "./sim";

const layoutSource = "stacks/example.yaml";

describe("TemplateVM", () => {
  it("imports its root from the image and defines a stopped, offline domain", async () => {
    const records = await run(() => {
      new TemplateVM("debian-12", { host, layoutSource, template: debian });
    });
    expect(children(records, "debian-12")).toEqual([
      "bulkhead:libvirt:Domain debian-12-domain",
      "bulkhead:libvirt:Volume debian-12-root",
      "bulkhead:libvirt:Volume debian-12-seed",
    ]);
    expect(inputs(records, "debian-12-root")).toEqual({
      uri: "qemu:///system",
      name: "debian-12-root.qcow2",
      imageDirs: ["/var/lib/libvirt/images"],
      pool: "bulkhead",
      capacity: 8 * GiB,
      format: "qcow2",
      source: { file: "/var/lib/bulkhead-lab/images/root.qcow2" },
    });
    expect(inputs(records, "debian-12-domain")).toEqual({
      uri: "qemu:///system",
      name: "debian-12",
      type: "kvm",
      memory: 1024,
      vcpu: 2,
      metadata: { class: "TemplateVM", qube: "debian-12", label: "black", layout: layoutSource },
      os: {
        type: "hvm",
        kernel: "/var/lib/bulkhead-lab/images/vmlinuz",
        initrd: "/var/lib/bulkhead-lab/images/initrd.img",
        cmdline: "console=ttyS0",
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
          },
          {
            type: "file",
            device: "disk",
            driver: { name: "qemu", type: "raw" },
            source: { file: "/var/lib/libvirt/bulkhead/debian-12-seed.iso" },
            target: { dev: "vdc", bus: "virtio" },
            readonly: true,
            serial: "cidata",
          },
        ],
        interfaces: [],
        hostdevs: [],
        graphics: [],
        serials: [{ type: "file", source: { path: "/var/log/libvirt/qemu/debian-12.serial.log" }, target: { port: 0 } }],
      },
      autostart: false,
      running: false,
    });
  });

  it("boots from its disk when it has no kernel, and keeps a raw image raw", async () => {
    const plain = { ...debian, format: "raw" as const, boot: undefined };
    const records = await run(() => {
      new TemplateVM("debian-12", { host, layoutSource, template: plain });
    });
    expect(inputs(records, "debian-12-root")).toMatchObject({ format: "raw" });
    expect(inputs(records, "debian-12-domain")).toMatchObject({ os: { type: "hvm", boot: ["hd"] } });
  });

  it("renders a netvm given to a template (a policy violation) as a filtered interface", async () => {
    const online = { ...debian, netvm: "sys-firewall" };
    const records = await run(() => {
      new TemplateVM("debian-12", { host, layoutSource, template: online });
    });
    expect(children(records, "debian-12")).toEqual([
      "bulkhead:libvirt:Domain debian-12-domain",
      "bulkhead:libvirt:NwFilter debian-12-fw",
      "bulkhead:libvirt:Volume debian-12-root",
      "bulkhead:libvirt:Volume debian-12-seed",
    ]);
    expect(inputs(records, "debian-12-domain")).toMatchObject({
      metadata: { class: "TemplateVM", qube: "debian-12", netvm: "sys-firewall", label: "black", layout: layoutSource },
      devices: {
        interfaces: [
          {
            type: "network",
            source: { network: "sys-firewall-clients" },
            mac: { address: "52:54:00:ca:e6:6a" },
            model: { type: "virtio" },
            filterref: { filter: "debian-12-fw" },
          },
        ],
      },
    });
    expect(inputs(records, "debian-12-fw")).toMatchObject({
      name: "debian-12-fw",
      rules: [
        { action: "accept", direction: "out", priority: 100, protocol: "all" },
        { action: "accept", direction: "out", priority: 101, protocol: "all-ipv6" },
        { action: "drop", direction: "out", priority: 1000, protocol: "all" },
        { action: "drop", direction: "out", priority: 1000, protocol: "all-ipv6" },
      ],
    });
  });
});
