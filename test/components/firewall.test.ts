import { describe, expect, it } from "vitest";
import { compileFirewall, expandRule } from "../../components/firewall";
import { parseExpireTag } from "../../libvirt/expire";

const URI = "qemu:///system";

describe("compileFirewall", () => {
  it("compiles Qubes' default (a single accept) to accept-all, then the final drop", () => {
    expect(compileFirewall({ uri: URI, name: "work-fw", rules: [{ action: "accept" }] })).toEqual({
      uri: URI,
      name: "work-fw",
      chain: "root",
      filterrefs: [{ filter: "clean-traffic" }],
      rules: [
        { action: "accept", direction: "out", priority: 100, protocol: "all" },
        { action: "accept", direction: "out", priority: 100, protocol: "all-ipv6" },
        { action: "drop", direction: "out", priority: 1000, protocol: "all" },
        { action: "drop", direction: "out", priority: 1000, protocol: "all-ipv6" },
      ],
    });
  });

  it("keeps the layout's order with increasing priorities, one step per change of action", () => {
    const f = compileFirewall({
      uri: URI,
      name: "work-fw",
      rules: [
        { action: "accept", specialtarget: "dns" },
        { action: "accept", proto: "tcp", dstports: { start: 443, end: 443 } },
        { action: "drop", dsthost: "192.168.0.0/16" },
      ],
    });
    expect(f.rules).toEqual([
      { action: "accept", direction: "out", priority: 100, protocol: "tcp", match: { dstipaddr: "10.139.1.1", dstipmask: 32, dstportstart: 53, dstportend: 53 } },
      { action: "accept", direction: "out", priority: 100, protocol: "udp", match: { dstipaddr: "10.139.1.1", dstipmask: 32, dstportstart: 53, dstportend: 53 } },
      { action: "accept", direction: "out", priority: 100, protocol: "tcp", match: { dstipaddr: "10.139.1.2", dstipmask: 32, dstportstart: 53, dstportend: 53 } },
      { action: "accept", direction: "out", priority: 100, protocol: "udp", match: { dstipaddr: "10.139.1.2", dstipmask: 32, dstportstart: 53, dstportend: 53 } },
      { action: "accept", direction: "out", priority: 100, protocol: "tcp", match: { dstportstart: 443, dstportend: 443 } },
      { action: "accept", direction: "out", priority: 100, protocol: "tcp-ipv6", match: { dstportstart: 443, dstportend: 443 } },
      { action: "drop", direction: "out", priority: 101, protocol: "all", match: { dstipaddr: "192.168.0.0", dstipmask: 16 } },
      { action: "drop", direction: "out", priority: 1000, protocol: "all" },
      { action: "drop", direction: "out", priority: 1000, protocol: "all-ipv6" },
    ]);
  });

  it("drops everything when there are no rules (fails closed)", () => {
    expect(compileFirewall({ uri: URI, name: "x-fw", rules: [] }).rules).toEqual([
      { action: "drop", direction: "out", priority: 1000, protocol: "all" },
      { action: "drop", direction: "out", priority: 1000, protocol: "all-ipv6" },
    ]);
  });

  it("sends specialtarget dns to the qube's own DNS servers when given", () => {
    const f = compileFirewall({ uri: URI, name: "x-fw", rules: [{ action: "accept", specialtarget: "dns", proto: "udp" }], dns: ["10.0.0.53"] });
    expect(f.rules[0]).toEqual({
      action: "accept",
      direction: "out",
      priority: 100,
      protocol: "udp",
      match: { dstipaddr: "10.0.0.53", dstipmask: 32, dstportstart: 53, dstportend: 53 },
    });
    expect(f.rules).toHaveLength(3);
  });

  it("spends priorities on changes of action only, down to -1000 when 900 do not fit", () => {
    const alternating = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ action: i % 2 === 0 ? ("accept" as const) : ("drop" as const), proto: "tcp" as const, dstports: { start: i, end: i } }));
    const same = compileFirewall({ uri: URI, name: "x-fw", rules: Array.from({ length: 5000 }, () => ({ action: "accept" as const })) });
    expect(new Set(same.rules.map((r) => r.priority))).toEqual(new Set([100, 1000]));
    const fits = compileFirewall({ uri: URI, name: "x-fw", rules: alternating(900) }).rules.map((r) => r.priority);
    expect([fits[0], fits[fits.length - 3]]).toEqual([100, 999]);
    const full = compileFirewall({ uri: URI, name: "x-fw", rules: alternating(2000) }).rules;
    expect(full.map((r) => r.priority).filter((p, i, all) => all.indexOf(p) === i)).toEqual(Array.from({ length: 2001 }, (_, i) => i - 1000));
    // The order is first match wins: accept tcp/0 before drop tcp/1, and so on.
    expect(full.slice(0, 4).map((r) => `${r.priority} ${r.action} ${r.match?.dstportstart}`)).toEqual(["-1000 accept 0", "-1000 accept 0", "-999 drop 1", "-999 drop 1"]);
  });

  it("refuses more changes of action than the priority range holds", () => {
    const rules = Array.from({ length: 2001 }, (_, i) => ({ action: i % 2 === 0 ? ("accept" as const) : ("drop" as const) }));
    expect(() => compileFirewall({ uri: URI, name: "x-fw", rules })).toThrow(
      "x-fw: 2001 runs of same-action firewall rules do not fit libvirt's priority range (at most 2000)",
    );
  });

  it("matches the addresses a DNS name resolved to, and records the name with them", () => {
    const f = compileFirewall({
      uri: URI,
      name: "x-fw",
      rules: [{ action: "accept", proto: "tcp", dstports: { start: 443, end: 443 }, dsthost: "updates.example", addresses: ["192.0.2.7/32", "2001:db8::7/128"] }],
    });
    expect(f.hosts).toEqual({ "updates.example": ["192.0.2.7/32", "2001:db8::7/128"] });
    expect(f.rules.slice(0, 2)).toEqual([
      { action: "accept", direction: "out", priority: 100, protocol: "tcp", match: { dstipaddr: "192.0.2.7", dstipmask: 32, dstportstart: 443, dstportend: 443 } },
      { action: "accept", direction: "out", priority: 100, protocol: "tcp-ipv6", match: { dstipaddr: "2001:db8::7", dstipmask: 128, dstportstart: 443, dstportend: 443 } },
    ]);
    // Offline (bulkhead check) a name has no addresses yet: it matches nothing.
    const offline = compileFirewall({ uri: URI, name: "x-fw", rules: [{ action: "accept", dsthost: "updates.example" }] });
    expect(offline.rules).toHaveLength(2);
    expect(offline.hosts).toEqual({ "updates.example": [] });
  });

  it("narrows specialtarget dns to the proto given", () => {
    const f = compileFirewall({ uri: URI, name: "x-fw", rules: [{ action: "accept", specialtarget: "dns", proto: "tcp" }] });
    expect(f.rules.filter((r) => r.action === "accept").map((r) => `${r.protocol} ${r.match?.dstipaddr}:${r.match?.dstportstart}`)).toEqual([
      "tcp 10.139.1.1:53",
      "tcp 10.139.1.2:53",
    ]);
  });

  it("writes a rule's expiry in front of its comment, where audit reads it back", () => {
    const f = compileFirewall({ uri: URI, name: "x-fw", rules: [{ action: "accept", dsthost: "10.0.0.1/32", expire: 1463292452, comment: "temp" }] });
    expect(f.rules[0].match?.comment).toBe("[expire 1463292452 2016-05-15T06:07:32Z] temp");
    expect(parseExpireTag(f.rules[0].match?.comment)).toBe(1463292452);
    expect(parseExpireTag("temp [expire 1 x]")).toBeUndefined();
  });
});

describe("expandRule", () => {
  it("uses IPv6 protocols for an IPv6 destination", () => {
    expect(expandRule({ action: "accept", dsthost: "2001:db8::/32", proto: "udp", dstports: { start: 1000, end: 2000 } })).toEqual([
      { action: "accept", direction: "out", protocol: "udp-ipv6", match: { dstipaddr: "2001:db8::", dstipmask: 32, dstportstart: 1000, dstportend: 2000 } },
    ]);
  });

  it("maps icmp with a type to icmp and icmpv6 when no destination is given", () => {
    expect(expandRule({ action: "drop", proto: "icmp", icmptype: 8 })).toEqual([
      { action: "drop", direction: "out", protocol: "icmp", match: { type: 8 } },
      { action: "drop", direction: "out", protocol: "icmpv6", match: { type: 8 } },
    ]);
  });

  it("lets the echo reply of an accepted typed ping back in, from the rule's target, established only", () => {
    expect(expandRule({ action: "accept", proto: "icmp", icmptype: 8, dsthost: "10.200.0.1" })).toEqual([
      { action: "accept", direction: "out", protocol: "icmp", match: { dstipaddr: "10.200.0.1", dstipmask: 32, type: 8 } },
      { action: "accept", direction: "in", protocol: "icmp", match: { type: 0, state: "ESTABLISHED", srcipaddr: "10.200.0.1", srcipmask: 32 } },
    ]);
  });

  it("answers typed requests per family: timestamp 13 -> 14 on IPv4, echo 128 -> 129 on IPv6, none for other types", () => {
    expect(expandRule({ action: "accept", proto: "icmp", icmptype: 13 }).filter((r) => r.direction === "in")).toEqual([
      { action: "accept", direction: "in", protocol: "icmp", match: { type: 14, state: "ESTABLISHED" } },
    ]);
    expect(expandRule({ action: "accept", proto: "icmp", icmptype: 128 }).filter((r) => r.direction === "in")).toEqual([
      { action: "accept", direction: "in", protocol: "icmpv6", match: { type: 129, state: "ESTABLISHED" } },
    ]);
    expect(expandRule({ action: "accept", proto: "icmp", icmptype: 3 }).filter((r) => r.direction === "in")).toEqual([]);
    expect(expandRule({ action: "accept", proto: "icmp" }).filter((r) => r.direction === "in")).toEqual([]);
  });

  it("maps icmp to an IPv6 host to icmpv6 only, and keeps the comment", () => {
    expect(expandRule({ action: "accept", proto: "icmp", dsthost: "fd00::1/128", comment: "ping" })).toEqual([
      { action: "accept", direction: "out", protocol: "icmpv6", match: { dstipaddr: "fd00::1", dstipmask: 128, comment: "ping" } },
    ]);
  });

  it("treats an IPv4 host as one family, all protocols", () => {
    expect(expandRule({ action: "accept", dsthost: "203.0.113.7/32" })).toEqual([
      { action: "accept", direction: "out", protocol: "all", match: { dstipaddr: "203.0.113.7", dstipmask: 32 } },
    ]);
  });
});
