// DNS names in dsthost: syntax offline, addresses at deploy time, a name that
// resolves to nothing refused with its line. Resolvers are injected, except for
// `localhost`, which the system resolver answers from /etc/hosts (no network).
import { describe, expect, it } from "vitest";
import { compileFirewall } from "../../components/firewall";
import { qubeFilterArgs } from "../../components/qube";
import { parseLayout, parseLayoutForDeploy } from "../../layout/load";
import type { Resolver } from "../../layout/hostnames";
import { layoutIssues } from "./helpers";

const NOW = 1_700_000_000;
const LAYOUT = `version: 1
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
defaults: { template: debian-12, netvm: sys-firewall }
qubes:
  sys-net: { class: NetVM, uplink: { bridge: br0 } }
  sys-firewall: { class: ProxyVM, netvm: sys-net }
  work:
    class: AppVM
    firewall:
      - { action: accept, proto: tcp, dstports: 443, dsthost: updates.example }
      - { action: accept, dsthost: Mirror.Example. }
      - { action: drop, dsthost: updates.example }
`;

const table: Record<string, string[]> = {
  "updates.example": ["2001:db8::7", "192.0.2.7", "192.0.2.7"],
  "mirror.example": ["198.51.100.1"],
};
const asked: string[] = [];
const fake: Resolver = async (name) => {
  asked.push(name);
  return table[name] ?? [];
};

describe("dsthost names", () => {
  it("are kept unresolved offline (check only judges their syntax)", () => {
    const layout = parseLayout(LAYOUT, "t.yaml", { now: NOW });
    const work = layout.qubes.find((q) => q.name === "work");
    expect(work?.firewall.map((r) => r.dsthost)).toEqual(["updates.example", "mirror.example", "updates.example"]);
    expect(work?.firewall.every((r) => r.addresses === undefined)).toBe(true);
  });

  it("resolve once per name at deploy time; the filter matches the addresses and records them", async () => {
    asked.length = 0;
    const layout = await parseLayoutForDeploy(LAYOUT, "t.yaml", { now: NOW, resolve: fake });
    expect(asked.sort()).toEqual(["mirror.example", "updates.example"]);
    const work = layout.qubes.find((q) => q.name === "work")!;
    expect(work.firewall[0].addresses).toEqual(["192.0.2.7/32", "2001:db8::7/128"]);
    const filter = qubeFilterArgs(layout.host, work);
    expect(filter.hosts).toEqual({ "updates.example": ["192.0.2.7/32", "2001:db8::7/128"], "mirror.example": ["198.51.100.1/32"] });
    expect(filter.rules.filter((r) => r.action === "accept").map((r) => `${r.protocol} ${r.match?.dstipaddr}`)).toEqual([
      "tcp 192.0.2.7",
      "tcp-ipv6 2001:db8::7",
      "all 198.51.100.1",
    ]);
    expect(filter.rules.filter((r) => r.action === "drop" && r.match !== undefined).map((r) => `${r.protocol} ${r.match?.dstipaddr}`)).toEqual([
      "all 192.0.2.7",
      "all-ipv6 2001:db8::7",
    ]);
  });

  it("refuse a name that resolves to nothing, at its first use, with its line", async () => {
    const failing: Resolver = async (name) => {
      if (name === "mirror.example") throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
      return [];
    };
    let thrown: unknown;
    await parseLayoutForDeploy(LAYOUT, "t.yaml", { now: NOW, resolve: failing }).catch((e: unknown) => (thrown = e));
    expect(layoutIssues(() => {
      throw thrown;
    })).toEqual([
      {
        path: "qubes.work.firewall.0.dsthost",
        line: 11,
        message: '"updates.example" resolves to no address; fix the name or write its address (names are resolved when the layout is deployed)',
      },
      {
        path: "qubes.work.firewall.1.dsthost",
        line: 12,
        message: '"mirror.example" resolves to no address (ENOTFOUND); fix the name or write its address (names are resolved when the layout is deployed)',
      },
    ]);
  });

  it("localhost resolves through the system resolver (from /etc/hosts)", async () => {
    const layout = await parseLayoutForDeploy(LAYOUT.replace(/updates\.example|Mirror\.Example\./g, "localhost"), "t.yaml", { now: NOW });
    const addresses = layout.qubes.find((q) => q.name === "work")?.firewall[0].addresses ?? [];
    expect(addresses).toContain("127.0.0.1/32");
    expect(compileFirewall({ uri: "qemu:///system", name: "w", rules: [{ action: "accept", dsthost: "localhost", addresses }] }).hosts).toEqual({ localhost: addresses });
  });
});
