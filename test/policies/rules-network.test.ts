// One passing and one or more violating cases per network policy: each
// violating case changes one thing in the correct fixture layout and asserts
// the complete list of violations.
import { describe, expect, it } from "vitest";
import { expireTag } from "../../libvirt/expire";
import { evaluate } from "../../policies/evaluate";
import { fromResources, type ResourceInput } from "../../policies/model";
import { clientPort, domainOf, filterOf, layoutResources, networkOf, providerPort } from "./fixtures";

const run = (rs: ResourceInput[]) => evaluate(fromResources(rs), { hostMemoryMiB: 16384 });
const only = (policy: string, rs: ResourceInput[]) => run(rs).filter((v) => v.policy === policy);
const mandatory = (policy: string, qube: string, message: string) => ({ policy, level: "mandatory", qube, message });

describe("the fixture layout", () => {
  it("passes every policy, with and without a prefix", () => {
    expect(run(layoutResources())).toEqual([]);
    expect(run(layoutResources("lab-"))).toEqual([]);
  });
});

describe("netvm-graph", () => {
  it("reports a netvm loop once, by its NetVM (one cause, one finding: not also egress-filtered)", () => {
    const rs = layoutResources();
    // sys-net becomes a client of sys-firewall's network while sys-firewall is sys-net's client.
    domainOf(rs, "sys-net").devices.interfaces.push(clientPort("", "sys-net", "sys-firewall", "10.137.1.9"));
    expect(evaluate(fromResources(rs))).toEqual([
      mandatory("netvm-graph", "sys-net", "sys-net: netvm loop sys-net -> sys-firewall -> sys-net; break it so the chain ends at a NetVM"),
    ]);
  });

  it("reports a NetVM that takes its uplink from a qube, once", () => {
    const rs = layoutResources();
    const net2 = domainOf(rs, "sys-net");
    const copy = JSON.parse(JSON.stringify(net2)) as typeof net2;
    copy.name = "sys-net2";
    copy.metadata.qube = "sys-net2";
    copy.devices.interfaces = [clientPort("", "sys-net2", "sys-firewall", "10.137.1.9")];
    copy.devices.hostdevs = [];
    copy.devices.disks = copy.devices.disks.filter((k) => k.transient !== undefined); // its root only
    rs.push({ type: "bulkhead:libvirt:Domain", name: "sys-net2", inputs: { ...copy } });
    expect(evaluate(fromResources(rs))).toEqual([
      mandatory("netvm-graph", "sys-net2", 'sys-net2: NetVM "sys-net2" takes its uplink from the client network of ProxyVM "sys-firewall"; a NetVM\'s uplink comes from the host (pci, macvtap, a bridge or a libvirt network outside the layout)'),
    ]);
  });

  it("reports a network nobody provides and a netvm that does not exist", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.metadata.netvm = "sys-fw";
    work.devices.interfaces[0].source.network = "sys-fw-clients";
    expect(run(rs)).toEqual([
      mandatory("netvm-graph", "work", 'work: AppVM "work" is on network "sys-fw-clients", which no NetVM or ProxyVM provides (no provider port with isolated=false); give it a netvm that provides network'),
      mandatory("netvm-graph", "work", 'work: netvm "sys-fw" does not exist; give it a netvm that is a NetVM or ProxyVM on this host'),
    ]);
  });

  it("reports a chain that ends at a ProxyVM", () => {
    const rs = layoutResources();
    const fw = domainOf(rs, "sys-firewall");
    fw.metadata.netvm = undefined;
    fw.devices.interfaces = [providerPort("", "sys-firewall")];
    expect(run(rs)).toEqual([
      mandatory("netvm-graph", "sys-firewall", 'sys-firewall: ProxyVM "sys-firewall" has no netvm, so its clients (dvm, untrusted, work) reach no NetVM; give it netvm: sys-net (a NetVM)'),
    ]);
  });

  it("reports a client on a host bridge", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.devices.interfaces = [{ type: "bridge", source: { bridge: "br0" }, mac: { address: "52:54:00:00:00:09" }, model: { type: "virtio" } }];
    expect(only("netvm-graph", rs)).toEqual([
      mandatory("netvm-graph", "work", 'work: AppVM "work" attaches to host bridge "br0" directly, bypassing any netvm; only a NetVM takes an uplink: give it a netvm (a ProxyVM such as sys-firewall)'),
    ]);
  });
});

describe("clients-behind-proxy", () => {
  it("reports an AppVM wired straight to the NetVM and names the ProxyVM to use", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.metadata.netvm = "sys-net";
    work.devices.interfaces = [clientPort("", "work", "sys-net", "10.137.0.7")];
    expect(run(rs)).toEqual([
      mandatory("clients-behind-proxy", "work", 'work: AppVM "work" connects straight to NetVM "sys-net"; give it netvm: sys-firewall (a ProxyVM)'),
    ]);
  });

  it("judges the wiring, not the metadata's claim", () => {
    const rs = layoutResources();
    // Metadata still says sys-firewall: netvm-graph flags the mismatch, clients-behind-proxy the wiring.
    domainOf(rs, "dvm").devices.interfaces = [clientPort("", "dvm", "sys-net", "10.137.0.8")];
    expect(run(rs)).toEqual([
      mandatory("netvm-graph", "dvm", 'dvm: declares netvm "sys-firewall" but is wired to "sys-net"\'s network; attach it to the client network of "sys-firewall"'),
      mandatory("clients-behind-proxy", "dvm", 'dvm: AppVM "dvm" connects straight to NetVM "sys-net"; give it netvm: sys-firewall (a ProxyVM)'),
    ]);
  });
});

describe("template-offline", () => {
  it("reports a template with a network interface", () => {
    const rs = layoutResources();
    const t = domainOf(rs, "debian-12");
    t.metadata.netvm = "sys-firewall";
    t.devices.interfaces = [clientPort("", "debian-12", "sys-firewall", "10.137.1.10")];
    expect(only("template-offline", rs)).toEqual([
      mandatory("template-offline", "debian-12", 'debian-12: TemplateVM "debian-12" has a network interface (network "sys-firewall-clients"); remove its netvm: templates stay offline and get updates through a proxy'),
    ]);
  });
});

describe("offline-means-no-nic", () => {
  it("reports a vault with a network interface", () => {
    const rs = layoutResources();
    // work's filter, a MAC and an address of its own: only the interface itself is wrong.
    domainOf(rs, "vault").devices.interfaces = [{ ...clientPort("", "work", "sys-firewall", "10.137.1.11"), mac: { address: "52:54:00:00:00:0d" } }];
    expect(run(rs)).toEqual([
      mandatory("offline-means-no-nic", "vault", 'vault: AppVM "vault" has no netvm but has a network interface (network "sys-firewall-clients"); remove the interface, or give it a netvm'),
    ]);
  });
});

describe("client-port-isolation", () => {
  it("reports a network that does not isolate its ports", () => {
    const rs = layoutResources();
    networkOf(rs, "sys-firewall-clients").port = { isolated: false };
    expect(run(rs)).toEqual([
      mandatory("client-port-isolation", "sys-firewall", 'sys-firewall: network "sys-firewall-clients" does not isolate its ports, so clients reach each other; set port: { isolated: true } on the network'),
    ]);
  });

  it("reports a client whose port is not isolated", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.interfaces[0].port = { isolated: false };
    expect(run(rs)).toEqual([
      mandatory("client-port-isolation", "work", 'work: AppVM "work" has a non-isolated port (isolated=false) on network "sys-firewall-clients"; only the provider\'s port may be: remove the port override'),
    ]);
  });

  it("reports a network serving two providers", () => {
    const rs = layoutResources();
    domainOf(rs, "sys-net").devices.interfaces.push({ ...providerPort("", "sys-firewall"), mac: { address: "52:54:00:00:00:0c" } });
    expect(only("client-port-isolation", rs)).toEqual([
      mandatory("client-port-isolation", "sys-firewall", 'sys-firewall: network "sys-firewall-clients" carries clients of 2 providers (sys-firewall, sys-net); give each provider its own client network'),
    ]);
  });
});

describe("client-port-isolation: one MAC and one address per port", () => {
  it("reports two clients of one network with the same MAC, each naming the other", () => {
    const rs = layoutResources();
    domainOf(rs, "dvm").devices.interfaces[0].mac = { ...domainOf(rs, "work").devices.interfaces[0].mac };
    const mac = domainOf(rs, "work").devices.interfaces[0].mac.address;
    expect(run(rs)).toEqual([
      mandatory("client-port-isolation", "dvm", `dvm: MAC ${mac} on network "sys-firewall-clients" is also used by work; every port needs its own MAC: remove the mac override or pick another`),
      mandatory("client-port-isolation", "work", `work: MAC ${mac} on network "sys-firewall-clients" is also used by dvm; every port needs its own MAC: remove the mac override or pick another`),
    ]);
  });

  it("reports two clients of one network with the same address", () => {
    const rs = layoutResources();
    domainOf(rs, "dvm").devices.interfaces[0].filterref!.parameters = { IP: "10.137.1.2" };
    expect(only("client-port-isolation", rs)).toEqual([
      mandatory("client-port-isolation", "dvm", 'dvm: address 10.137.1.2 on network "sys-firewall-clients" is also used by work; every port needs its own address: give each qube its own IP'),
      mandatory("client-port-isolation", "work", 'work: address 10.137.1.2 on network "sys-firewall-clients" is also used by dvm; every port needs its own address: give each qube its own IP'),
    ]);
  });

  it("does not mind one MAC on two different networks", () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.interfaces[0].mac = { ...domainOf(rs, "sys-firewall").devices.interfaces[0].mac };
    expect(run(rs)).toEqual([]);
  });
});

describe("host-off-qube-networks", () => {
  it("reports a host address and NAT on a client network", () => {
    const rs = layoutResources();
    const net = networkOf(rs, "sys-net-clients");
    net.ips = [{ address: "10.137.0.1", prefix: 24 }];
    net.forward = { mode: "nat" };
    expect(run(rs)).toEqual([
      mandatory("host-off-qube-networks", "sys-net", 'sys-net: network "sys-net-clients" forwards through the host (mode nat); remove its forward: qube traffic leaves only through the NetVM'),
      mandatory("host-off-qube-networks", "sys-net", 'sys-net: network "sys-net-clients" gives the host the address 10.137.0.1/24; remove its ips: the host keeps no address on qube networks'),
    ]);
  });
});

describe("egress-filtered", () => {
  it("reports a client interface without a filter", () => {
    const rs = layoutResources();
    delete domainOf(rs, "work").devices.interfaces[0].filterref;
    expect(run(rs)).toEqual([
      mandatory("egress-filtered", "work", 'work: its interface on "sys-firewall-clients" has no nwfilter, so its egress is unfiltered; add a filterref to the qube\'s firewall filter'),
    ]);
  });

  it("reports a filter without anti-spoofing, the IP parameter or final drops", () => {
    const rs = layoutResources();
    const fw = filterOf(rs, "work-fw");
    fw.filterrefs = [];
    fw.rules.push({ action: "accept", direction: "out", priority: 950, protocol: "icmp" });
    domainOf(rs, "work").devices.interfaces[0].filterref = { filter: "work-fw" };
    expect(run(rs)).toEqual([
      mandatory("egress-filtered", "work", 'work: its interface on "sys-firewall-clients" passes no IP parameter to nwfilter "work-fw", so clean-traffic cannot pin the qube\'s address; pass IP'),
      mandatory("egress-filtered", "work", 'work: nwfilter "work-fw" does not end with drop rules for all and all-ipv6 (direction out); append them so unmatched traffic is dropped'),
      mandatory("egress-filtered", "work", 'work: nwfilter "work-fw" does not include clean-traffic (anti-spoofing); add filterref clean-traffic'),
    ]);
  });

  it("reports a filter that is not defined", () => {
    const rs = layoutResources().filter((r) => r.name !== "dvm-fw");
    expect(run(rs)).toEqual([
      mandatory("egress-filtered", "dvm", 'dvm: its interface on "sys-firewall-clients" refers to nwfilter "dvm-fw", which is not defined; define it (the qube\'s firewall rules)'),
    ]);
  });
});

describe("firewall-unexpired", () => {
  const tagged = (at: number) => `${expireTag(at)} temporary`;
  const judge = (rs: ResourceInput[], now: number) =>
    evaluate(fromResources(rs), { hostMemoryMiB: 16384, config: { "firewall-unexpired": { now } } });

  it("passes a rule before its expiry and reports one past it, once per expiry", () => {
    const rs = layoutResources();
    const fw = filterOf(rs, "work-fw");
    fw.rules.unshift(
      { action: "accept", direction: "out", priority: 90, protocol: "tcp", match: { dstportstart: 22, dstportend: 22, comment: tagged(1_700_000_000) } },
      { action: "accept", direction: "out", priority: 90, protocol: "tcp-ipv6", match: { dstportstart: 22, dstportend: 22, comment: tagged(1_700_000_000) } },
    );
    expect(judge(rs, 1_699_999_999)).toEqual([]);
    expect(judge(rs, 1_700_000_000)).toEqual([
      mandatory(
        "firewall-unexpired",
        "work",
        'work: nwfilter "work-fw" still holds a rule that expired at 2023-11-14T22:13:20Z (1700000000); run `npm run up` (or pulumi up) to leave it out, or remove its expire from the layout',
      ),
    ]);
  });

  it("reads the expiry only from the tag in front (a comment that merely mentions one is not an expiry)", () => {
    const rs = layoutResources();
    filterOf(rs, "work-fw").rules.unshift({ action: "accept", direction: "out", priority: 90, protocol: "all", match: { comment: "see [expire 1 x]" } });
    expect(judge(rs, 1_700_000_000)).toEqual([]);
  });
});

describe("uplink-host-isolated", () => {
  it("advises against a NetVM uplink on a host bridge", () => {
    const rs = layoutResources();
    domainOf(rs, "sys-net").devices.interfaces.push({ type: "bridge", source: { bridge: "br0" }, mac: { address: "52:54:00:00:00:0a" }, model: { type: "virtio" } });
    expect(run(rs)).toEqual([
      { policy: "uplink-host-isolated", level: "advisory", qube: "sys-net", message: 'sys-net: NetVM "sys-net" uplink is host bridge "br0", which shares L2 with the host; prefer uplink: { pci: [...] } (NIC passthrough) or { macvtap: { dev } }' },
    ]);
  });

  it("accepts a macvtap uplink", () => {
    const rs = layoutResources();
    domainOf(rs, "sys-net").devices.interfaces.push({ type: "direct", source: { dev: "eth0", mode: "bridge" }, mac: { address: "52:54:00:00:00:0b" }, model: { type: "virtio" } });
    expect(run(rs)).toEqual([]);
  });
});
