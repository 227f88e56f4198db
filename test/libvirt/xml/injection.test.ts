// Values holding XML metacharacters are escaped by the library and come back intact.
import { describe, expect, it } from "vitest";
import { parseDomainXml, renderDomainXml } from "../../../libvirt/xml/domain";
import { parseNetworkXml, renderNetworkXml } from "../../../libvirt/xml/network";
import { parseNwFilterXml, renderNwFilterXml } from "../../../libvirt/xml/nwfilter";
import { parsePoolXml, renderPoolXml } from "../../../libvirt/xml/pool";
import { parseVolumeXml, renderVolumeXml } from "../../../libvirt/xml/volume";
import { domainSpec } from "./fixtures";
import { validateXml } from "./validate";

const evil = `x'"<>&y</name><uuid>00000000-0000-0000-0000-000000000000</uuid>`;
const escaped = "x&apos;&quot;&lt;&gt;&amp;y&lt;/name&gt;&lt;uuid&gt;00000000-0000-0000-0000-000000000000&lt;/uuid&gt;";

describe("XML injection", () => {
  it("escapes a domain name and metadata and parses them back identical", () => {
    const spec = {
      ...domainSpec,
      name: evil,
      metadata: { ...domainSpec.metadata, qube: evil, layout: `a"b'c` },
      os: { ...domainSpec.os, cmdline: `init=/bin/sh -c 'echo "<&>"'` },
    };
    const xml = renderDomainXml(spec);
    expect(xml).toContain(`  <name>${escaped}</name>\n`);
    expect(xml).toContain(` qube="${escaped}"`);
    expect(xml).toContain(`<cmdline>init=/bin/sh -c &apos;echo &quot;&lt;&amp;&gt;&quot;&apos;</cmdline>`);
    expect(xml).not.toContain("<uuid>");
    expect(parseDomainXml(xml)).toEqual(spec);
  });

  it("escapes names of every other kind", () => {
    expect(parseNetworkXml(renderNetworkXml({ name: evil })).name).toBe(evil);
    expect(parseNwFilterXml(renderNwFilterXml({ name: evil, rules: [] })).name).toBe(evil);
    expect(parsePoolXml(renderPoolXml({ name: evil, type: "dir", target: { path: evil } }))).toEqual({
      name: evil,
      type: "dir",
      target: { path: evil },
    });
    expect(parseVolumeXml(renderVolumeXml({ name: evil, capacity: 1, format: "raw" })).name).toBe(evil);
  });

  it("keeps the escaped domain valid for libvirt's schema", async () => {
    await expect(validateXml(renderDomainXml({ ...domainSpec, name: "a'\"&b" }), "domain")).resolves.toBe("<file> validates");
  });
});
