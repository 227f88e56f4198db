import { describe, expect, it } from "vitest";
import { NetVM } from "../../components/netvm";
import { ProxyVM } from "../../components/proxyvm";
import { debian, host, sysFirewall, sysNet } from "./fixtures";
import { children, inputs, run } from "./sim";

const layoutSource = "stacks/example.yaml";
type DomainInputs = { devices: { interfaces: unknown[]; hostdevs: unknown[] }; autostart: boolean; running: boolean; metadata: unknown };

const clientPort = {
  type: "network",
  source: { network: "sys-net-clients" },
  mac: { address: "52:54:00:d8:86:d1" },
  model: { type: "virtio" },
  port: { isolated: false },
};

describe("NetVM", () => {
  it("creates its client network, volumes and domain; no filter (it has no netvm)", async () => {
    const records = await run(() => {
      new NetVM("sys-net", { host, layoutSource, qube: sysNet, template: debian });
    });
    expect(children(records, "sys-net")).toEqual([
      "bulkhead:libvirt:Domain sys-net-domain",
      "bulkhead:libvirt:Network sys-net-clients",
      "bulkhead:libvirt:Volume sys-net-private",
      "bulkhead:libvirt:Volume sys-net-seed",
    ]);
    // No ips and no forward: the host has no address on, and routes nothing for, qube networks.
    expect(inputs(records, "sys-net-clients")).toEqual({
      uri: "qemu:///system",
      name: "sys-net-clients",
      port: { isolated: true },
      autostart: true,
    });
  });

  it("puts the uplink first, then its own non-isolated, unfiltered port on its client network", async () => {
    const records = await run(() => {
      new NetVM("sys-net", { host, layoutSource, qube: sysNet, template: debian });
    });
    const domain = inputs(records, "sys-net-domain") as DomainInputs;
    expect(domain.devices.interfaces).toEqual([
      { type: "network", source: { network: "bulkhead-lab-uplink" }, mac: { address: "52:54:00:26:73:ae" }, model: { type: "virtio" } },
      clientPort,
    ]);
    expect(domain.metadata).toEqual({ class: "NetVM", qube: "sys-net", template: "debian-12", label: "red", layout: layoutSource });
    expect([domain.autostart, domain.running]).toEqual([true, true]);
  });

  it("attaches a bridge uplink as a bridge interface", async () => {
    const qube = { ...sysNet, uplink: { kind: "bridge" as const, bridge: "br0" } };
    const records = await run(() => {
      new NetVM("sys-net", { host, layoutSource, qube, template: debian });
    });
    expect((inputs(records, "sys-net-domain") as DomainInputs).devices.interfaces[0]).toEqual({
      type: "bridge",
      source: { bridge: "br0" },
      mac: { address: "52:54:00:26:73:ae" },
      model: { type: "virtio" },
    });
  });

  it("attaches a macvtap uplink in private mode", async () => {
    const qube = { ...sysNet, uplink: { kind: "macvtap" as const, dev: "enp3s0" } };
    const records = await run(() => {
      new NetVM("sys-net", { host, layoutSource, qube, template: debian });
    });
    expect((inputs(records, "sys-net-domain") as DomainInputs).devices.interfaces[0]).toEqual({
      type: "direct",
      source: { dev: "enp3s0", mode: "private" },
      mac: { address: "52:54:00:26:73:ae" },
      model: { type: "virtio" },
    });
  });

  it("passes a PCI uplink through as a hostdev (once, even if also in devices.pci), with no uplink interface", async () => {
    const qube = { ...sysNet, uplink: { kind: "pci" as const, addresses: ["0000:03:00.0"] }, devices: { pci: ["0000:03:00.0", "0000:04:00.0"], usb: [] } };
    const records = await run(() => {
      new NetVM("sys-net", { host, layoutSource, qube, template: debian });
    });
    const domain = inputs(records, "sys-net-domain") as DomainInputs;
    expect(domain.devices.interfaces).toEqual([clientPort]);
    expect(domain.devices.hostdevs).toEqual([
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x03", slot: "0x00", function: "0x0" } } },
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x04", slot: "0x00", function: "0x0" } } },
    ]);
  });
});

describe("ProxyVM", () => {
  it("is a filtered client of its netvm that serves its own client network", async () => {
    const records = await run(() => {
      new ProxyVM("sys-firewall", { host, layoutSource, qube: sysFirewall, template: debian });
    });
    expect(children(records, "sys-firewall")).toEqual([
      "bulkhead:libvirt:Domain sys-firewall-domain",
      "bulkhead:libvirt:Network sys-firewall-clients",
      "bulkhead:libvirt:NwFilter sys-firewall-fw",
      "bulkhead:libvirt:Volume sys-firewall-private",
      "bulkhead:libvirt:Volume sys-firewall-seed",
    ]);
    expect(inputs(records, "sys-firewall-clients")).toEqual({
      uri: "qemu:///system",
      name: "sys-firewall-clients",
      port: { isolated: true },
      autostart: true,
    });
    expect((inputs(records, "sys-firewall-domain") as DomainInputs).devices.interfaces).toEqual([
      {
        type: "network",
        source: { network: "sys-net-clients" },
        mac: { address: "52:54:00:b2:f1:93" },
        model: { type: "virtio" },
        filterref: { filter: "sys-firewall-fw", parameters: { IP: "10.137.0.2" } },
      },
      {
        type: "network",
        source: { network: "sys-firewall-clients" },
        mac: { address: "52:54:00:e1:9f:69" },
        model: { type: "virtio" },
        port: { isolated: false },
      },
    ]);
  });
});
