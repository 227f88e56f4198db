import { describe, expect, it } from "vitest";
import { parseNetworkXml, renderNetworkXml } from "../../../libvirt/xml/network";
import { networkSpec } from "./fixtures";
import { validateXml } from "./validate";

const isolated = { name: "bh-sys-firewall-clients", port: { isolated: true } };

describe("network XML", () => {
  it("renders an isolated qube network without <ip> or <forward>", () => {
    expect(renderNetworkXml(isolated)).toBe(`<network>
  <name>bh-sys-firewall-clients</name>
  <port isolated="yes"/>
</network>
`);
  });

  it("renders forward, bridge, mtu and both address families", () => {
    expect(renderNetworkXml(networkSpec, { uuid: "e0f05c0b-4b53-446c-930c-3dd144001046" })).toBe(`<network>
  <name>bh-sys-net-clients</name>
  <uuid>e0f05c0b-4b53-446c-930c-3dd144001046</uuid>
  <forward mode="nat"/>
  <bridge name="bhbr0" stp="off" delay="0"/>
  <mtu size="1400"/>
  <port isolated="yes"/>
  <ip address="10.137.0.1" prefix="24"/>
  <ip family="ipv6" address="fd00::1" prefix="64"/>
</network>
`);
  });

  it("round-trips exactly", () => {
    expect(parseNetworkXml(renderNetworkXml(networkSpec, { uuid: "e0f05c0b-4b53-446c-930c-3dd144001046" }))).toEqual({
      ...networkSpec,
      uuid: "e0f05c0b-4b53-446c-930c-3dd144001046",
    });
    expect(parseNetworkXml(renderNetworkXml(isolated))).toEqual(isolated);
  });

  it("parses what libvirt writes back", () => {
    const live = `<network>
  <name>bhtest-n1</name>
  <uuid>e0f05c0b-4b53-446c-930c-3dd144001046</uuid>
  <bridge name='virbr0' stp='off' delay='0'/>
  <mtu size='1400'/>
  <mac address='52:54:00:a5:c5:6b'/>
  <port isolated='yes'/>
</network>`;
    expect(parseNetworkXml(live)).toEqual({
      name: "bhtest-n1",
      uuid: "e0f05c0b-4b53-446c-930c-3dd144001046",
      bridge: { name: "virbr0", stp: false, delay: 0 },
      mtu: 1400,
      port: { isolated: true },
    });
  });

  it("passes libvirt's network schema", async () => {
    await expect(validateXml(renderNetworkXml(networkSpec), "network")).resolves.toBe("<file> validates");
    await expect(validateXml(renderNetworkXml(isolated), "network")).resolves.toBe("<file> validates");
  });
});
