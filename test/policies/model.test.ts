// The adapters: libvirt resource inputs (a preview, a mock run, a live host) to the HostModel.
import { describe, expect, it } from "vitest";
import type { DomainArgs, NetworkArgs, NwFilterArgs, PoolArgs, VolumeArgs } from "../../libvirt/types";
import { UNKNOWN, fromLiveHost, fromResources, pciAddress, usbId, type ResourceInput } from "../../policies/model";
import { POOL_PATH, domainOf, layoutResources } from "./fixtures";

const args = <T>(rs: ResourceInput[], kind: string) => rs.filter((r) => r.type === `bulkhead:libvirt:${kind}`).map((r) => r.inputs as unknown as T);

describe("fromResources", () => {
  it("normalises one domain's wiring, devices and disks", () => {
    const rs = layoutResources("lab-");
    const fw = domainOf(rs, "sys-firewall");
    fw.devices.hostdevs = [
      { mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0", bus: "0x3", slot: "0x1F", function: "0x2" } } },
      { mode: "subsystem", type: "usb", source: { vendor: { id: "0x46D" }, product: { id: "0xC52B" } } },
    ];
    const d = fromResources(rs).domains.find((x) => x.qube === "sys-firewall");
    expect(d).toEqual({
      resource: "sys-firewall",
      name: "lab-sys-firewall",
      qube: "sys-firewall",
      class: "ProxyVM",
      providesNetwork: false,
      netvm: "sys-net",
      template: "debian-12",
      layout: "test.yaml",
      memoryMiB: 400,
      currentMemoryMiB: undefined,
      autostart: true,
      disks: [
        { file: `${POOL_PATH}/lab-debian-12-root.qcow2`, device: "disk", target: "vda", serial: "root", transient: true, readonly: false },
        { file: `${POOL_PATH}/lab-sys-firewall-private.qcow2`, device: "disk", target: "vdb", serial: "private", transient: false, readonly: false },
      ],
      interfaces: [
        { type: "network", network: "lab-sys-net-clients", bridge: undefined, dev: undefined, portIsolated: undefined, mac: "52:54:00:17:ca:ec", filter: { name: "lab-sys-firewall-fw", parameters: { IP: "10.137.0.2" } } },
        { type: "network", network: "lab-sys-firewall-clients", bridge: undefined, dev: undefined, portIsolated: false, mac: "52:54:00:d6:c3:e6", filter: undefined },
      ],
      pci: ["0000:03:1f.2"],
      usb: ["046d:c52b"],
      graphics: [],
      qemuCommandline: [],
    });
  });

  it("derives volume paths from the pool, reads unknowns as UNKNOWN and ignores component resources", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.disks[0].source.file = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const model = fromResources(rs);
    expect(model.volumes.find((v) => v.name === "work-private.qcow2")).toEqual({
      resource: "work-private.qcow2", name: "work-private.qcow2", pool: "bulkhead", path: `${POOL_PATH}/work-private.qcow2`, backingStore: undefined,
    });
    expect(model.domains.find((d) => d.qube === "work")?.disks[0].file).toBe(UNKNOWN);
    expect([model.domains.length, model.networks.length, model.filters.length, model.volumes.length]).toEqual([8, 2, 4, 7]);
  });

  it("judges a domain without bulkhead metadata as an AppVM named after the domain", () => {
    const d = fromResources([{ type: "bulkhead:libvirt:Domain", name: "r", inputs: { name: "stray", memory: 512, devices: {} } }]).domains[0];
    expect([d.qube, d.class, d.netvm, d.memoryMiB, d.interfaces, d.disks]).toEqual(["stray", "AppVM", undefined, 512, [], []]);
  });

  it("writes device ids one way", () => {
    expect([pciAddress({ domain: "0x0000", bus: "0x00", slot: "0x14", function: "0x0" }), pciAddress({ domain: "0", bus: "0", slot: "14", function: "0" })]).toEqual(["0000:00:14.0", "0000:00:14.0"]);
    expect(usbId("0x046d", "0xc52b")).toBe("046d:c52b");
  });
});

describe("fromLiveHost", () => {
  it("builds the same model from a live host's parsed objects, keyed by libvirt name", () => {
    const rs = layoutResources();
    const live = fromLiveHost({
      domains: args<DomainArgs>(rs, "Domain"),
      networks: args<NetworkArgs>(rs, "Network"),
      filters: args<NwFilterArgs>(rs, "NwFilter"),
      pools: args<PoolArgs>(rs, "Pool"),
      volumes: args<VolumeArgs>(rs, "Volume"),
    });
    const preview = fromResources(rs);
    expect(live.domains.map((d) => ({ ...d, resource: "" }))).toEqual(preview.domains.map((d) => ({ ...d, resource: "" })));
    expect(live.volumes.map((v) => v.path)).toEqual(preview.volumes.map((v) => v.path));
    expect(live.networks.map((n) => n.resource)).toEqual(["sys-net-clients", "sys-firewall-clients"]);
  });
});
