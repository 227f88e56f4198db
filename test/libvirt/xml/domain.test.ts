import { describe, expect, it } from "vitest";
import { BULKHEAD_XMLNS, parseDomainXml, renderDomainXml } from "../../../libvirt/xml/domain";
import { domainSpec } from "./fixtures";
import { validateXml } from "./validate";

const minimal = {
  name: "bh-sys-net",
  type: "qemu" as const,
  memory: 96,
  vcpu: 1,
  metadata: { class: "NetVM" as const, qube: "sys-net", label: "red", layout: "l.yaml" },
  os: { type: "hvm" as const },
  features: { acpi: true },
  devices: { disks: [], interfaces: [], hostdevs: [], graphics: [], serials: [] },
};

describe("domain XML", () => {
  it("renders exactly what the spec declares", () => {
    expect(renderDomainXml(minimal, { uuid: "5559218c-9139-4218-91d1-2c474a84f870" })).toBe(
      `<domain type="qemu">
  <name>bh-sys-net</name>
  <uuid>5559218c-9139-4218-91d1-2c474a84f870</uuid>
  <metadata>
    <bulkhead:qube xmlns:bulkhead="${BULKHEAD_XMLNS}" class="NetVM" qube="sys-net" label="red" layout="l.yaml"/>
  </metadata>
  <memory unit="MiB">96</memory>
  <vcpu>1</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <features>
    <acpi/>
  </features>
  <devices/>
</domain>
`,
    );
  });

  it("renders disks, interfaces, hostdevs, graphics, serials and the qemu namespace", () => {
    const xml = renderDomainXml({ ...domainSpec, qemuCommandline: ["-nodefaults", "-S"] });
    expect(xml).toContain(`<domain type="qemu" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">`);
    expect(xml).toContain(`    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2"/>
      <source file="/pool/debian-root.qcow2"/>
      <target dev="vda" bus="virtio"/>
      <transient shareBacking="yes"/>
      <serial>root</serial>
    </disk>
`);
    expect(xml).toContain(`    <interface type="network">
      <mac address="52:54:00:12:34:56"/>
      <source network="bh-sys-firewall-clients"/>
      <model type="virtio"/>
      <filterref filter="bh-work-fw">
        <parameter name="IP" value="10.137.1.12"/>
      </filterref>
      <port isolated="no"/>
    </interface>
`);
    expect(xml).toContain(`    <hostdev mode="subsystem" type="pci" managed="yes">
      <source>
        <address domain="0x0000" bus="0x00" slot="0x1f" function="0x3"/>
      </source>
    </hostdev>
    <hostdev mode="subsystem" type="usb" managed="no">
      <source>
        <vendor id="0x046d"/>
        <product id="0xc52b"/>
      </source>
    </hostdev>
`);
    expect(xml).toContain(`  <qemu:commandline>
    <qemu:arg value="-nodefaults"/>
    <qemu:arg value="-S"/>
  </qemu:commandline>
</domain>
`);
  });

  it("round-trips the full spec exactly, with the UUID", () => {
    const spec = { ...domainSpec, qemuCommandline: ["-nodefaults"] };
    const uuid = "5559218c-9139-4218-91d1-2c474a84f870";
    expect(parseDomainXml(renderDomainXml(spec, { uuid }))).toEqual({ ...spec, uuid });
    expect(parseDomainXml(renderDomainXml(minimal))).toEqual(minimal);
  });

  it("parses what libvirt writes back (KiB, single quotes, extra elements)", () => {
    const live = `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>bh-x</name>
  <uuid>5559218c-9139-4218-91d1-2c474a84f870</uuid>
  <metadata>
    <bh:qube xmlns:bh="${BULKHEAD_XMLNS}" class="AppVM" qube="x" label="red" layout="l.yaml"/>
  </metadata>
  <memory unit='KiB'>204800</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pci-root'/>
    <serial type='pty'>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
    </serial>
  </devices>
</domain>`;
    expect(parseDomainXml(live)).toEqual({
      name: "bh-x",
      uuid: "5559218c-9139-4218-91d1-2c474a84f870",
      type: "qemu",
      memory: 200,
      currentMemory: 128,
      vcpu: 1,
      metadata: { class: "AppVM", qube: "x", label: "red", layout: "l.yaml" },
      os: { type: "hvm", arch: "x86_64", machine: "pc-i440fx-7.2", boot: ["hd"] },
      features: { acpi: true },
      devices: {
        disks: [],
        interfaces: [],
        hostdevs: [],
        graphics: [],
        serials: [{ type: "pty", target: { port: 0 } }],
        controllers: [{ type: "pci", index: 0, model: "pci-root" }],
      },
    });
  });

  it("reports a domain without bulkhead metadata as having none", () => {
    const xml = renderDomainXml(minimal).replace(/<metadata>[\s\S]*<\/metadata>/, "");
    expect(parseDomainXml(xml).metadata).toBeUndefined();
  });

  it("passes libvirt's domain schema", async () => {
    const xml = renderDomainXml({ ...domainSpec, qemuCommandline: ["-nodefaults"] }, { uuid: "5559218c-9139-4218-91d1-2c474a84f870" });
    await expect(validateXml(xml, "domain")).resolves.toBe("<file> validates");
    await expect(validateXml(renderDomainXml(minimal), "domain")).resolves.toBe("<file> validates");
  });

  it("rejects XML that is not a domain", () => {
    expect(() => parseDomainXml("<network><name>x</name></network>")).toThrow("expected one <domain> element");
  });
});
