import { describe, expect, it } from "vitest";
import { parseNwFilterXml, renderNwFilterXml } from "../../../libvirt/xml/nwfilter";
import { nwfilterSpec } from "./fixtures";
import { validateXml } from "./validate";

describe("nwfilter XML", () => {
  it("renders filter references first, then rules in order", () => {
    expect(renderNwFilterXml(nwfilterSpec, { uuid: "dc170924-cc10-460e-a050-adc01828fd30" })).toBe(`<filter name="bh-work-fw" chain="root" priority="-700">
  <uuid>dc170924-cc10-460e-a050-adc01828fd30</uuid>
  <filterref filter="clean-traffic">
    <parameter name="IP" value="10.137.1.12"/>
  </filterref>
  <filterref filter="allow-arp"/>
  <rule action="accept" direction="out" priority="100">
    <udp dstipaddr="10.137.1.1" dstipmask="32" dstportstart="53" dstportend="53" comment="dns"/>
  </rule>
  <rule action="accept" direction="out" priority="200">
    <tcp dstipaddr="192.0.2.0" dstipmask="24" dstportstart="443" dstportend="443" state="NEW"/>
  </rule>
  <rule action="accept" direction="out" priority="300">
    <icmp type="8"/>
  </rule>
  <rule action="drop" direction="inout" priority="1000" statematch="false">
    <all/>
  </rule>
</filter>
`);
  });

  it("round-trips exactly", () => {
    expect(parseNwFilterXml(renderNwFilterXml(nwfilterSpec, { uuid: "dc170924-cc10-460e-a050-adc01828fd30" }))).toEqual({
      ...nwfilterSpec,
      uuid: "dc170924-cc10-460e-a050-adc01828fd30",
    });
    const bare = { name: "bh-drop", rules: [{ action: "drop" as const, direction: "out" as const, priority: 500, protocol: "all" as const }] };
    expect(parseNwFilterXml(renderNwFilterXml(bare))).toEqual(bare);
  });

  it("rejects a rule with two protocol elements", () => {
    const xml = `<filter name='x'><rule action='drop' direction='out' priority='1'><tcp/><udp/></rule></filter>`;
    expect(() => parseNwFilterXml(xml)).toThrow("<rule> must hold exactly one protocol element, found 2");
  });

  it("passes libvirt's nwfilter schema", async () => {
    await expect(validateXml(renderNwFilterXml(nwfilterSpec), "nwfilter")).resolves.toBe("<file> validates");
  });
});
