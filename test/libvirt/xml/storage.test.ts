import { describe, expect, it } from "vitest";
import { parsePoolXml, renderPoolXml } from "../../../libvirt/xml/pool";
import { parseVolumeXml, renderVolumeXml } from "../../../libvirt/xml/volume";
import { poolSpec, volumeSpec } from "./fixtures";
import { validateXml } from "./validate";

describe("pool XML", () => {
  it("renders a directory pool", () => {
    expect(renderPoolXml(poolSpec, { uuid: "8eaa1699-eff4-4308-a789-f5ceddd3fa0f" })).toBe(`<pool type="dir">
  <name>bh-pool</name>
  <uuid>8eaa1699-eff4-4308-a789-f5ceddd3fa0f</uuid>
  <target>
    <path>/var/lib/bulkhead/pool</path>
  </target>
</pool>
`);
  });

  it("round-trips exactly", () => {
    expect(parsePoolXml(renderPoolXml(poolSpec))).toEqual(poolSpec);
  });

  it("passes libvirt's storagepool schema", async () => {
    await expect(validateXml(renderPoolXml(poolSpec), "storagepool")).resolves.toBe("<file> validates");
  });
});

describe("volume XML", () => {
  it("renders a sparse volume with its backing store", () => {
    expect(renderVolumeXml(volumeSpec)).toBe(`<volume type="file">
  <name>bh-work-root.qcow2</name>
  <capacity unit="bytes">10737418240</capacity>
  <allocation unit="bytes">0</allocation>
  <target>
    <format type="qcow2"/>
  </target>
  <backingStore>
    <path>/var/lib/bulkhead/pool/debian.qcow2</path>
    <format type="qcow2"/>
  </backingStore>
</volume>
`);
  });

  it("round-trips exactly", () => {
    expect(parseVolumeXml(renderVolumeXml(volumeSpec))).toEqual(volumeSpec);
    const raw = { name: "seed.iso", capacity: 1048576, format: "raw" as const };
    expect(parseVolumeXml(renderVolumeXml(raw))).toEqual(raw);
  });

  it("parses the path and a capacity in other units from libvirt's answer", () => {
    const live = `<volume type='file'>
  <name>v.qcow2</name>
  <key>/p/v.qcow2</key>
  <capacity unit='KiB'>64</capacity>
  <allocation unit='bytes'>196608</allocation>
  <target><path>/p/v.qcow2</path><format type='qcow2'/></target>
</volume>`;
    expect(parseVolumeXml(live)).toEqual({ name: "v.qcow2", capacity: 65536, format: "qcow2", path: "/p/v.qcow2" });
  });

  it("reads libvirt's probed `iso` format as raw", () => {
    const live = `<volume type='file'><name>s.iso</name><capacity unit='bytes'>51200</capacity><target><path>/p/s.iso</path><format type='iso'/></target></volume>`;
    expect(parseVolumeXml(live)).toEqual({ name: "s.iso", capacity: 51200, format: "raw", path: "/p/s.iso" });
  });

  it("passes libvirt's storagevol schema", async () => {
    await expect(validateXml(renderVolumeXml(volumeSpec), "storagevol")).resolves.toBe("<file> validates");
  });
});
