import { describe, expect, test } from "vitest";
import type { SimulatedResource } from "../../components/simulate";
import type { FirewallRule } from "../../layout/model";
import { firewallSummary, libvirtRows } from "../../cli/plan";

describe("firewallSummary", () => {
  const cases: [string, FirewallRule[], string][] = [
    ["Qubes' default", [{ action: "accept" }], "accept all"],
    ["a lone drop", [{ action: "drop" }], "drop all"],
    ["no rules", [], "drop all"],
    [
      "dns and one port",
      [{ action: "accept", specialtarget: "dns" }, { action: "accept", proto: "tcp", dstports: { start: 80, end: 80 } }],
      "dns, tcp/80, drop rest",
    ],
    [
      "host, range, icmp, drop, catch-all accept",
      [
        { action: "accept", proto: "tcp", dstports: { start: 22, end: 22 }, dsthost: "192.168.10.0/24" },
        { action: "accept", proto: "udp", dstports: { start: 6000, end: 6010 } },
        { action: "accept", proto: "icmp", icmptype: 8 },
        { action: "drop", dsthost: "10.0.0.0/8" },
        { action: "accept" },
      ],
      "tcp/22 to 192.168.10.0/24, udp/6000-6010, icmp type 8, drop 10.0.0.0/8, accept rest",
    ],
    [
      "expiring rules say until when, names and dns narrowed to one proto show as written",
      [
        { action: "accept", proto: "tcp", dstports: { start: 22, end: 22 }, expire: 1463292452 },
        { action: "accept", proto: "udp", specialtarget: "dns" },
        { action: "accept", dsthost: "updates.example", addresses: ["192.0.2.7/32"] },
        { action: "accept", expire: 1463292452 },
      ],
      "tcp/22 until 2016-05-15T06:07:32Z, dns (udp only), updates.example, all until 2016-05-15T06:07:32Z, drop rest",
    ],
    [
      "explicit final drop",
      [{ action: "accept", proto: "tcp" }, { action: "drop" }],
      "tcp, drop rest",
    ],
  ];
  test.each(cases)("%s", (_what, rules, summary) => {
    expect(firewallSummary(rules)).toBe(summary);
  });
});

describe("libvirtRows", () => {
  const parent = "urn:pulumi:s::p::bulkhead:qubes:AppVM::bulkhead-work";
  const res = (type: string, name: string, extra: Partial<SimulatedResource> = {}): SimulatedResource => ({
    type,
    name,
    urn: `urn:${name}`,
    inputs: { name },
    custom: true,
    dependencies: [],
    ...extra,
  });
  test("custom resources by creation order, then name, with the owning qube", () => {
    const rows = libvirtRows([
      res("bulkhead:qubes:AppVM", "bulkhead-work", { custom: false, inputs: {} }),
      res("bulkhead:libvirt:Domain", "work", { parent, inputs: { name: "work", metadata: { qube: "work" } } }),
      res("bulkhead:libvirt:Volume", "work-seed.iso", { parent }),
      res("bulkhead:libvirt:Volume", "work-private.qcow2", { parent }),
      res("bulkhead:libvirt:NwFilter", "work-fw", { parent }),
      res("bulkhead:libvirt:Pool", "bulkhead"),
    ]);
    expect(rows).toEqual([
      ["Pool", "bulkhead", "-"],
      ["NwFilter", "work-fw", "work"],
      ["Volume", "work-private.qcow2", "work"],
      ["Volume", "work-seed.iso", "work"],
      ["Domain", "work", "work"],
    ]);
  });
});
