// One passing and one or more violating cases per device, storage, display and
// memory policy (the fixture layout passing is asserted in rules-network.test.ts).
import { describe, expect, it } from "vitest";
import type { HostdevSpec } from "../../libvirt/types";
import { evaluate } from "../../policies/evaluate";
import { fromResources, type ResourceInput } from "../../policies/model";
import { domainOf, layoutResources, vol } from "./fixtures";

const run = (rs: ResourceInput[], hostMemoryMiB = 16384) => evaluate(fromResources(rs), { hostMemoryMiB });
const mandatory = (policy: string, qube: string, message: string) => ({ policy, level: "mandatory", qube, message });
const usb = (vendor: string, product: string): HostdevSpec => ({
  mode: "subsystem",
  type: "usb",
  source: { vendor: { id: vendor }, product: { id: product } },
});
const pci = (bus: string): HostdevSpec => ({
  mode: "subsystem",
  type: "pci",
  managed: true,
  source: { address: { domain: "0x0000", bus, slot: "0x00", function: "0x0" } },
});

describe("pci-netvm-usbvm-only", () => {
  it("reports a PCI device on an AppVM", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.hostdevs.push(pci("0x05"));
    expect(run(rs)).toEqual([
      mandatory("pci-netvm-usbvm-only", "work", 'work: AppVM "work" has PCI device 0000:05:00.0 passed through; only NetVMs and UsbVMs take PCI devices: give network cards to a NetVM and USB controllers to a UsbVM'),
    ]);
  });
});

describe("usb-confined", () => {
  it("reports a USB device on an AppVM", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.hostdevs.push(usb("0x046D", "0xc52b"));
    expect(run(rs)).toEqual([
      mandatory("usb-confined", "work", 'work: AppVM "work" has USB device 046d:c52b passed through; USB devices belong to the UsbVM: pass it there instead'),
    ]);
  });

  it("reports a UsbVM with a netvm", () => {
    const rs = layoutResources();
    domainOf(rs, "sys-usb").metadata.netvm = "sys-firewall";
    expect(run(rs)).toEqual([
      mandatory("usb-confined", "sys-usb", 'sys-usb: UsbVM "sys-usb" has netvm "sys-firewall"; remove it: the UsbVM holds untrusted USB devices and stays offline'),
    ]);
  });

  it("reports a configured USB controller on the NetVM, and accepts it on the UsbVM", () => {
    const model = fromResources(layoutResources());
    const config = { "usb-confined": { usbControllers: ["0000:03:00.0", "0000:00:14.0"] } };
    expect(evaluate(model, { config })).toEqual([
      mandatory("usb-confined", "sys-net", 'sys-net: NetVM "sys-net" has USB controller 0000:03:00.0 passed through; give it to the UsbVM instead'),
    ]);
  });
});

describe("device-exclusive", () => {
  it("reports a device given to two qubes, on each of them", () => {
    const rs = layoutResources();
    domainOf(rs, "sys-usb").devices.hostdevs.push(pci("0x03"));
    expect(run(rs)).toEqual([
      mandatory("device-exclusive", "sys-net", "sys-net: PCI device 0000:03:00.0 is also given to sys-usb; a device belongs to one qube: remove it from all but one"),
    ]);
  });
});

describe("root-from-template: where a template's image comes from", () => {
  const rootVolume = (rs: ResourceInput[]) => rs.find((r) => r.type === "bulkhead:libvirt:Volume" && r.name === "debian-12-root.qcow2")!;

  it("accepts an image from an image directory", () => {
    const rs = layoutResources();
    rootVolume(rs).inputs.source = { file: "/var/lib/libvirt/images/debian-12.qcow2" };
    expect(run(rs)).toEqual([]);
  });

  it("reports a template imported from another qube's private volume", () => {
    const rs = layoutResources();
    rootVolume(rs).inputs.source = { file: vol("work-private.qcow2") };
    expect(run(rs)).toEqual([
      mandatory("root-from-template", "debian-12", `debian-12: its image is imported from ${vol("work-private.qcow2")}, which is the volume "work-private.qcow2" of pool "bulkhead"; import the template from an image under host.images, never from a qube's volume`),
    ]);
  });

  it("reports a template imported from a file inside a storage pool", () => {
    const rs = layoutResources();
    rootVolume(rs).inputs.source = { file: vol("left-behind.qcow2") };
    expect(run(rs)).toEqual([
      mandatory("root-from-template", "debian-12", `debian-12: its image is imported from ${vol("left-behind.qcow2")}, inside the storage pool directory ${vol("").replace(/\/$/, "")} (qubes' volumes); import the template from an image under host.images`),
    ]);
  });
});

describe("root-from-template", () => {
  it("reports a root that persists across shutdown", () => {
    const rs = layoutResources();
    delete domainOf(rs, "work").devices.disks[0].transient;
    expect(run(rs)).toEqual([
      mandatory("root-from-template", "work", `work: root disk vda (${vol("debian-12-root.qcow2")}) persists across shutdown; make it transient (shareBacking) so changes are discarded`),
    ]);
  });

  it("reports a root that is not a template's image", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.disks[0].source.file = vol("work-root.qcow2");
    expect(run(rs)).toEqual([
      mandatory("root-from-template", "work", `work: root disk vda (${vol("work-root.qcow2")}) is not a template's image; boot it from template "debian-12"'s image (${vol("debian-12-root.qcow2")}) as a transient disk`),
    ]);
  });

  it("reports a qube writing the template's image and a private volume shared by two (once)", () => {
    const rs = layoutResources();
    const sa = domainOf(rs, "vault");
    sa.metadata.class = "StandaloneVM";
    delete sa.devices.disks[0].transient;
    domainOf(rs, "work").devices.disks[1].source.file = vol("dvm-private.qcow2");
    expect(run(rs)).toEqual([
      mandatory("root-from-template", "dvm", `dvm: disk vdb (${vol("dvm-private.qcow2")}) is also written by "work"; a private volume belongs to one qube: give each its own`),
      mandatory("root-from-template", "untrusted", `untrusted: disk vdb (${vol("dvm-private.qcow2")}) is a view of "work"'s private volume; a private volume belongs to one qube: remove the disk`),
      mandatory("root-from-template", "vault", `vault: disk vda (${vol("debian-12-root.qcow2")}) writes the image of template "debian-12"; only the template writes its image: make the disk transient`),
    ]);
  });

  it("skips a disk whose file is unknown until deploy", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.disks[0].source.file = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    expect(run(rs)).toEqual([]);
  });
});

describe("disposable-stateless", () => {
  it("reports a DispVM with a persistent disk", () => {
    const rs = layoutResources();
    const d = domainOf(rs, "untrusted");
    d.devices.disks[1].source.file = vol("untrusted-private.qcow2");
    delete d.devices.disks[1].transient;
    expect(run(rs)).toEqual([
      mandatory("disposable-stateless", "untrusted", `untrusted: DispVM "untrusted" keeps disk vdb (${vol("untrusted-private.qcow2")}) across shutdown; make it transient (a discard-on-shutdown view of its dvm template's volume)`),
    ]);
  });
});

describe("no-remote-display", () => {
  it("accepts loopback and socket displays", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.graphics = [
      { type: "spice", listen: { type: "address", address: "127.0.0.1" } },
      { type: "vnc", listen: { type: "socket" } },
    ];
    expect(run(rs)).toEqual([]);
  });

  it("reports a display on the network and raw QEMU arguments", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.devices.graphics = [{ type: "vnc", listen: { type: "address", address: "0.0.0.0" } }];
    work.qemuCommandline = ["-netdev", "user,id=n0"];
    expect(run(rs)).toEqual([
      mandatory("no-remote-display", "work", 'work: AppVM "work" passes raw QEMU arguments (-netdev user,id=n0); remove qemuCommandline: it bypasses every libvirt-level rule'),
      mandatory("no-remote-display", "work", 'work: vnc display of AppVM "work" listens on 0.0.0.0; listen on 127.0.0.1 (or a local socket) and reach it through an SSH tunnel'),
    ]);
  });

  it("marks only the listen address as remediable at level remediate", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.devices.graphics = [{ type: "spice", listen: { type: "address", address: "192.168.1.5" } }];
    work.qemuCommandline = ["-s"];
    expect(evaluate(fromResources(rs), { levels: { "no-remote-display": "remediate" } }).map((v) => [v.level, v.message.slice(0, 30)])).toEqual([
      ["mandatory", 'work: AppVM "work" passes raw '],
      ["remediate", 'work: spice display of AppVM "'],
    ]);
  });
});

describe("memory-budget", () => {
  it("passes when autostart qubes fit, and without a budget", () => {
    expect(run(layoutResources(), 1200)).toEqual([]);
    expect(evaluate(fromResources(layoutResources()))).toEqual([]);
  });

  it("advises when autostart qubes exceed host.memory", () => {
    expect(run(layoutResources(), 1199)).toEqual([
      { policy: "memory-budget", level: "advisory", qube: "dom0", message: "dom0: autostart qubes need 1200 MiB (sys-firewall 400, sys-net 400, sys-usb 400) but the host gives 1199 MiB; lower their memory, set autostart: false on some, or raise host.memory" },
    ]);
  });
});

describe("levels", () => {
  it("skips a disabled policy and raises an advisory one", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.hostdevs.push(pci("0x05"));
    expect(evaluate(fromResources(rs), { levels: { "pci-netvm-usbvm-only": "disabled" } })).toEqual([]);
    expect(run(rs, 1).map((v) => [v.policy, v.level])).toEqual([
      ["memory-budget", "advisory"],
      ["pci-netvm-usbvm-only", "mandatory"],
    ]);
  });
});
