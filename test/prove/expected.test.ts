import { describe, expect, it } from "vitest";
import { parseLayout } from "../../layout/load";
import { compileFirewall } from "../../components/firewall";
import { expectedFlows, firewallVerdict, inCidr, LAB_WORLD, type Flow } from "../../prove/expected";
import { generateLayout, layoutToYaml } from "../../scripts/gen-layout";

const NOW = 1_700_000_000;
const dev = () =>
  parseLayout(
    `version: 1
host: { domainType: qemu, prefix: "dev-", images: [/img] }
defaults: { template: lab, netvm: sys-firewall }
templates:
  lab: { image: /img/root.img, format: raw }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { network: bulkhead-lab-uplink } }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net }
  sys-usb: { class: UsbVM, label: red }
  work:
    class: AppVM
    label: blue
    firewall:
      - { action: accept, specialtarget: dns }
      - { action: accept, proto: tcp, dstports: 80 }
  personal: { class: AppVM, label: yellow }
  vault: { class: AppVM, label: black, netvm: null }
  dvm: { class: AppVM, label: red, template_for_dispvms: true }
  untrusted: { class: DispVM, label: red, template: dvm }
`,
    "dev.yaml",
    { now: NOW },
  );

const flows = expectedFlows(dev());
const find = (id: string): Flow => {
  const f = flows.find((x) => x.id === id);
  if (f === undefined) throw new Error(`no flow ${id}`);
  return f;
};
const verdict = (id: string) => find(id).expect;
const all = (from: string, to: string) => [...new Set(flows.filter((f) => f.from === from && f.to === to).map((f) => f.expect))];

describe("expected reachability", () => {
  it("lists every source/destination pair once per probe, deterministically", () => {
    expect(new Set(flows.map((f) => f.id)).size).toBe(flows.length);
    expect(expectedFlows(dev())).toEqual(flows);
    // 9 sources x (8 qubes x 4 probes + host 4 + internet 6 + dns 2)
    expect(flows.length).toBe(9 * (8 * 4 + 4 + 6 + 2));
  });

  it("a client reaches its provider with ICMP (as far as its firewall lets it), never the provider's own services", () => {
    expect(verdict("personal->sys-firewall icmp")).toBe("pass");
    expect(find("personal->sys-firewall icmp").address).toBe(dev().qubes.find((q) => q.name === "sys-firewall")!.provides!.gateway);
    for (const p of ["tcp/7", "tcp/80", "udp/7"]) {
      expect(verdict(`personal->sys-firewall ${p}`)).toBe("blocked");
      expect(find(`personal->sys-firewall ${p}`).why).toBe("sys-firewall accepts only ICMP from its clients (its own services are not theirs)");
    }
    expect(verdict("work->sys-firewall tcp/80")).toBe("blocked");
    expect(find("work->sys-firewall icmp").why).toBe("work's firewall: no rule matches (implicit drop)");
  });

  it("the 14-qube proof's ICMP pass (issue 12 item 8): a client's rules cover its netvm's own address, so dev-1 and mail-1 (no ICMP rule) must not ping sys-firewall", () => {
    const l14 = parseLayout(layoutToYaml(generateLayout(14, { lab: true }), "# l14"), "l14.yaml", { now: NOW });
    const f14 = expectedFlows(l14);
    const at = (id: string) => f14.find((f) => f.id === id)!;
    for (const q of ["dev-1", "mail-1"]) {
      expect(at(`${q}->sys-firewall icmp`).expect).toBe("blocked");
      expect(at(`${q}->sys-firewall icmp`).why).toBe(`${q}'s firewall: no rule matches (implicit drop)`);
      // The compiled filter agrees: no rule of theirs lets ICMP out before the final drop.
      const qube = l14.qubes.find((x) => x.name === q)!;
      const filter = compileFirewall({ uri: "test:///default", name: `${q}-fw`, rules: qube.firewall, dns: qube.addressing!.dns });
      expect(filter.rules.filter((r) => r.action === "accept" && (r.protocol === "icmp" || r.protocol === "all"))).toEqual([]);
    }
    // chat-1 accepts icmptype 8: its ping to its provider passes.
    expect(at("chat-1->sys-firewall icmp").expect).toBe("pass");
  });

  it("a DispVM uses its provider's DispVM gateway", () => {
    expect(find("untrusted->sys-firewall icmp").address).toBe(dev().qubes.find((q) => q.name === "sys-firewall")!.provides!.dispvmGateway);
    expect(verdict("untrusted->sys-firewall icmp")).toBe("pass");
    expect(verdict("untrusted->sys-firewall tcp/80")).toBe("blocked");
  });

  it("clients of one provider do not reach each other", () => {
    for (const [a, b] of [["personal", "work"], ["work", "personal"], ["personal", "untrusted"], ["untrusted", "personal"], ["dvm", "personal"]]) {
      expect(all(a, b)).toEqual(["blocked"]);
    }
    expect(find("personal->work icmp").why).toBe("work is another client of sys-firewall: client ports are isolated and sys-firewall forwards only upstream");
  });

  it("no qube reaches the libvirt host", () => {
    for (const src of ["lab", "sys-net", "sys-firewall", "sys-usb", "work", "personal", "vault", "dvm", "untrusted"]) {
      expect(all(src, "host")).toEqual(["blocked"]);
    }
    expect(flows.filter((f) => f.to === "host" && f.from === "personal").map((f) => f.id)).toEqual([
      "personal->host icmp",
      "personal->host tcp/22",
      "personal->host tcp/53",
      "personal->host udp/53",
    ]);
  });

  it("a qube without netvm reaches nothing, and nothing reaches it (it has no address)", () => {
    expect(flows.filter((f) => f.from === "vault").every((f) => f.expect === "blocked")).toBe(true);
    expect(find("vault->internet tcp/80").why).toBe("vault has no netvm and no network interface");
    expect(flows.filter((f) => f.to === "vault").every((f) => f.expect === "blocked" && f.address === undefined)).toBe(true);
    expect(find("personal->vault icmp").why).toBe("vault has no address (no netvm)");
  });

  it("a template reaches nothing", () => {
    expect(flows.filter((f) => f.from === "lab").every((f) => f.expect === "blocked")).toBe(true);
    expect(find("lab->internet tcp/80").why).toBe("template lab has no network interface");
  });

  it("the UsbVM has no network", () => {
    expect(flows.filter((f) => f.from === "sys-usb").every((f) => f.expect === "blocked")).toBe(true);
    expect(flows.filter((f) => f.to === "sys-usb").every((f) => f.expect === "blocked" && f.address === undefined)).toBe(true);
  });

  it("a client reaches the internet host exactly as its firewall says", () => {
    expect(flows.filter((f) => f.from === "work" && f.to === "internet").map((f) => [f.id, f.expect])).toEqual([
      ["work->internet icmp", "blocked"],
      ["work->internet tcp/53", "blocked"],
      ["work->internet tcp/80", "pass"],
      ["work->internet tcp/443", "blocked"],
      ["work->internet tcp/8080", "blocked"],
      ["work->internet udp/53", "blocked"],
    ]);
    expect(find("work->internet tcp/443").why).toBe("work's firewall: no rule matches (implicit drop)");
    expect(find("work->internet tcp/80").why).toBe(
      "work (firewall rule 2 (accept tcp port 80)) -> sys-firewall forwards: sys-firewall (firewall rule 1 (accept)) -> sys-net forwards: sys-net's uplink reaches the internet host",
    );
    expect(all("personal", "internet")).toEqual(["pass"]);
  });

  it("specialtarget dns opens port 53 of the qube's DNS servers only", () => {
    expect(verdict("work->dns udp/53")).toBe("pass");
    expect(verdict("work->dns tcp/53")).toBe("pass");
    expect(find("work->dns udp/53").address).toBe("10.139.1.1");
    expect(verdict("work->internet udp/53")).toBe("blocked");
    expect(verdict("work->internet tcp/53")).toBe("blocked");
  });

  it("a NetVM cannot open a connection to a client behind a ProxyVM", () => {
    for (const c of ["work", "personal", "dvm", "untrusted"]) expect(all("sys-net", c)).toEqual(["blocked"]);
    expect(find("sys-net->work tcp/7").why).toBe("sys-net sends it out of its uplink, whose router forwards nothing");
  });

  it("no provider opens a connection to its own client: the client's port filter admits only replies", () => {
    for (const [p, c] of [["sys-net", "sys-firewall"], ["sys-firewall", "personal"], ["sys-firewall", "work"], ["sys-firewall", "untrusted"]]) {
      expect(all(p, c)).toEqual(["blocked"]);
    }
    expect(find("sys-firewall->personal tcp/80").why).toBe("personal's port filter admits only replies to connections personal opened");
  });

  it("a port whose filter was removed opens exactly its egress and connections in to it", () => {
    const open = expectedFlows(dev(), LAB_WORLD, { unfiltered: ["work"] });
    const before = new Map(flows.map((f) => [f.id, f.expect]));
    expect(open.filter((f) => f.expect !== before.get(f.id)).map((f) => `${f.id} ${f.expect}`)).toEqual([
      "sys-firewall->work icmp pass",
      "sys-firewall->work tcp/7 pass",
      "sys-firewall->work tcp/80 pass",
      "sys-firewall->work udp/7 pass",
      "work->sys-net icmp pass",
      "work->sys-firewall icmp pass",
      "work->internet icmp pass",
      "work->internet tcp/53 pass",
      "work->internet tcp/443 pass",
      "work->internet tcp/8080 pass",
      "work->internet udp/53 pass",
    ]);
    expect(open.find((f) => f.id === "work->internet tcp/443")!.why).toBe(
      "work (firewall none on its port) -> sys-firewall forwards: sys-firewall (firewall rule 1 (accept)) -> sys-net forwards: sys-net's uplink reaches the internet host",
    );
  });
});

describe("qvm-firewall evaluation", () => {
  const dns = ["10.139.1.1", "10.139.1.2"];
  it("first match wins; nothing matched is a drop", () => {
    const rules = [
      { action: "drop" as const, dsthost: "10.200.0.0/24", proto: "tcp" as const, dstports: { start: 443, end: 443 } },
      { action: "accept" as const, proto: "tcp" as const },
    ];
    expect(firewallVerdict(rules, { dst: "10.200.0.1", proto: "tcp", port: 443 }, dns)).toEqual({ verdict: "blocked", rule: 0 });
    expect(firewallVerdict(rules, { dst: "10.200.0.1", proto: "tcp", port: 80 }, dns)).toEqual({ verdict: "pass", rule: 1 });
    expect(firewallVerdict(rules, { dst: "10.200.0.1", proto: "udp", port: 80 }, dns)).toEqual({ verdict: "blocked" });
  });
  it("icmptype and port ranges", () => {
    const rules = [
      { action: "accept" as const, proto: "icmp" as const, icmptype: 8 },
      { action: "accept" as const, proto: "udp" as const, dstports: { start: 1000, end: 2000 } },
    ];
    expect(firewallVerdict(rules, { dst: "1.2.3.4", proto: "icmp", icmptype: 8 }, dns).verdict).toBe("pass");
    expect(firewallVerdict(rules, { dst: "1.2.3.4", proto: "icmp", icmptype: 0 }, dns).verdict).toBe("blocked");
    expect(firewallVerdict(rules, { dst: "1.2.3.4", proto: "udp", port: 2000 }, dns).verdict).toBe("pass");
    expect(firewallVerdict(rules, { dst: "1.2.3.4", proto: "udp", port: 2001 }, dns).verdict).toBe("blocked");
    // A reply goes to an ephemeral port, which a narrow range does not cover.
    expect(firewallVerdict(rules, { dst: "1.2.3.4", proto: "udp", reply: true }, dns).verdict).toBe("blocked");
  });
  it("CIDR membership", () => {
    expect(inCidr("10.137.3.7", "10.137.0.0/16")).toBe(true);
    expect(inCidr("10.138.3.7", "10.137.0.0/16")).toBe(false);
    expect(inCidr("10.0.0.1", "0.0.0.0/0")).toBe(true);
    expect(inCidr("10.0.0.1", "::/0")).toBe(false);
  });
  it("the lab world serves what lab/internet.ts serves", () => {
    expect(LAB_WORLD.internet).toEqual({ address: "10.200.0.1", tcp: [53, 80, 443, 8080], udp: [53], icmp: true });
  });
});

describe("firewallVerdict with a dsthost name", () => {
  const web = { src: "10.137.0.5", dst: "10.200.0.1", proto: "tcp" as const, port: 80 };
  it("matches the addresses the name resolved to at deploy time, and nothing when unresolved", () => {
    const rule = { action: "accept" as const, dsthost: "inet.lab", proto: "tcp" as const };
    expect(firewallVerdict([{ ...rule, addresses: ["10.200.0.1/32"] }], web, [])).toEqual({ verdict: "pass", rule: 0 });
    expect(firewallVerdict([{ ...rule, addresses: ["10.200.0.2/32"] }], web, [])).toEqual({ verdict: "blocked" });
    expect(firewallVerdict([rule], web, [])).toEqual({ verdict: "blocked" });
  });
});
