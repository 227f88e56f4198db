// Expected reachability as a pure function of the layout: for every source
// qube (templates included) and every destination (the other qubes, the
// libvirt host, the lab's internet host, Qubes' virtual DNS), per protocol and
// port, whether traffic must pass and why. The model follows how bulkhead
// wires a layout (Qubes networking, components/nics.ts), not the
// firewall compiler: qvm-firewall rules are evaluated here from their own
// semantics, so a compiler bug shows up as a difference instead of being
// mirrored.
import type { FirewallRule, ResolvedLayout, ResolvedQube } from "../layout/model";

export type Proto = "tcp" | "udp" | "icmp";
export type Verdict = "pass" | "blocked";

/** Destination of a flow: a qube or template by layout name, or one of the fixed endpoints. */
export type Endpoint = string;
export const HOST = "host";
export const INTERNET = "internet";
/** Qubes' virtual DNS pair (10.139.1.1), DNAT-ed by each provider towards its uplink's resolver. */
export const DNS = "dns";

export interface Flow {
  /** `<from>-><to> <proto>[/<port>] [@<address>]`, unique within a layout. */
  id: string;
  from: string;
  to: Endpoint;
  /** The IPv4 address the source sends to; absent when the destination has none (offline, template). */
  address?: string;
  proto: Proto;
  port?: number;
  expect: Verdict;
  why: string;
}

/** What the lab's world looks like around the layout (lab/internet.ts, lab/guest). */
export interface World {
  internet: { address: string; tcp: number[]; udp: number[]; icmp: boolean };
  /** The virtual DNS address probed for `dns` (Qubes' first DNS server). */
  dns: string;
  /**
   * Addresses that would be the libvirt host's: every IPv4 address its
   * namespace holds plus the usual libvirt gateway. The host must answer on none.
   */
  hostAddresses: string[];
  /** Services every lab qube runs (lab/guest/inittab). */
  qube: Services;
  /** Qubes whose services differ from `qube`'s, by layout name (stock guests: sshd only). */
  qubes?: Record<string, Services>;
  /** Ports probed at the host. */
  hostPorts: { tcp: number[]; udp: number[] };
}

export interface Services {
  tcp: number[];
  udp: number[];
  icmp: boolean;
}

/**
 * What a stock Debian guest (lab/images/stock.sh) serves: openssh-server on
 * tcp 22 and ICMP echo, nothing else; so every flow to a stock qube probes
 * sshd (a provider's sshd must reject its clients).
 */
export const STOCK_SERVICES: Services = { tcp: [22], udp: [], icmp: true };

/** The services `name` runs in `world`. */
export function servicesOf(world: World, name: string): Services {
  return world.qubes?.[name] ?? world.qube;
}

/** The lab's world where the stock templates (by layout name) and the qubes booting them run STOCK_SERVICES. */
export function labWorld(layout: ResolvedLayout, stockTemplates: ReadonlySet<string>): World {
  const names = [...layout.templates.filter((t) => stockTemplates.has(t.name)).map((t) => t.name), ...layout.qubes.filter((q) => stockTemplates.has(q.rootTemplate)).map((q) => q.name)];
  const stock = names.map((n) => [n, STOCK_SERVICES] as const);
  return stock.length === 0 ? LAB_WORLD : { ...LAB_WORLD, qubes: Object.fromEntries(stock) };
}

/** The embedded lab: lab/internet.ts serves tcp 80, 443, 8080 and DNS (dnsmasq, udp+tcp 53). */
export const LAB_WORLD: World = {
  internet: { address: "10.200.0.1", tcp: [53, 80, 443, 8080], udp: [53], icmp: true },
  dns: "10.139.1.1",
  hostAddresses: ["192.168.122.1"],
  qube: { tcp: [7, 80], udp: [7], icmp: true },
  hostPorts: { tcp: [22, 53], udp: [53] },
};

/** What is assumed about the deployment beyond the layout (the break-on-purpose test). */
export interface Assumptions {
  /**
   * Qubes whose port has no nwfilter (removed by hand): their egress is not
   * filtered and connections in to them are not dropped at the host.
   */
  unfiltered?: readonly string[];
}

/** A packet a source sends (or a reply it would send back). */
export interface Packet {
  dst: string;
  proto: Proto;
  /** Destination port (tcp, udp). */
  port?: number;
  /** ICMP type: 8 for an echo request, 0 for a reply. */
  icmptype?: number;
  /** A reply to a connection someone else opened: its destination port is ephemeral. */
  reply?: boolean;
}

/** Linux's default ephemeral port range (net.ipv4.ip_local_port_range). */
export const EPHEMERAL = { start: 32768, end: 60999 } as const;

// ---------------------------------------------------------------- addresses

export function ipv4ToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  return (((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]) >>> 0;
}

export function inCidr(ip: string, cidr: string): boolean {
  const [net, lenText] = cidr.split("/");
  if (net.includes(":") || ip.includes(":")) return false;
  const len = lenText === undefined ? 32 : Number(lenText);
  if (len === 0) return true;
  const mask = len === 32 ? 0xffffffff : (~((1 << (32 - len)) - 1)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(net) & mask) >>> 0);
}

// ---------------------------------------------------------------- firewall

/** Whether one qvm-firewall rule matches a packet (IPv4 only: the probes are IPv4). */
export function ruleMatches(rule: FirewallRule, p: Packet, dns: readonly string[]): boolean {
  if (rule.specialtarget === "dns") {
    if (!dns.includes(p.dst)) return false;
    if (p.proto === "icmp" || p.reply === true) return false;
    if (rule.proto !== undefined && rule.proto !== p.proto) return false;
    return p.port === 53;
  }
  if (rule.dsthost !== undefined && !inCidr(p.dst, rule.dsthost)) return false;
  if (rule.proto !== undefined && rule.proto !== p.proto) return false;
  if (rule.dstports !== undefined && (p.proto === "tcp" || p.proto === "udp")) {
    const { start, end } = rule.dstports;
    // A reply goes to some ephemeral port: only a range covering all of them surely matches.
    if (p.reply === true) return start <= EPHEMERAL.start && end >= EPHEMERAL.end;
    if (p.port === undefined || p.port < start || p.port > end) return false;
  }
  if (rule.icmptype !== undefined && p.proto === "icmp" && p.icmptype !== rule.icmptype) return false;
  return true;
}

/** qvm-firewall: the first matching rule decides; nothing matched means drop. Returns the rule's index too. */
export function firewallVerdict(rules: readonly FirewallRule[], p: Packet, dns: readonly string[]): { verdict: Verdict; rule?: number } {
  for (let i = 0; i < rules.length; i++) {
    if (ruleMatches(rules[i], p, dns)) return { verdict: rules[i].action === "accept" ? "pass" : "blocked", rule: i };
  }
  return { verdict: "blocked" };
}

function describeRule(rules: readonly FirewallRule[], i: number | undefined): string {
  if (i === undefined) return "no rule matches (implicit drop)";
  const r = rules[i];
  const parts: string[] = [r.action];
  if (r.specialtarget !== undefined) parts.push(`specialtarget ${r.specialtarget}`);
  if (r.dsthost !== undefined) parts.push(`dsthost ${r.dsthost}`);
  if (r.proto !== undefined) parts.push(r.proto);
  if (r.dstports !== undefined) parts.push(r.dstports.start === r.dstports.end ? `port ${r.dstports.start}` : `ports ${r.dstports.start}-${r.dstports.end}`);
  if (r.icmptype !== undefined) parts.push(`icmptype ${r.icmptype}`);
  return `rule ${i + 1} (${parts.join(" ")})`;
}

// ---------------------------------------------------------------- topology

interface Node {
  name: string;
  /** Class, with templates as TemplateVM. */
  cls: ResolvedQube["class"] | "TemplateVM";
  netvm: string | null;
  qube?: ResolvedQube;
}

class Topology {
  readonly nodes = new Map<string, Node>();
  readonly unfiltered: ReadonlySet<string>;
  constructor(readonly layout: ResolvedLayout, readonly world: World, assume: Assumptions = {}) {
    this.unfiltered = new Set(assume.unfiltered ?? []);
    for (const t of layout.templates) this.nodes.set(t.name, { name: t.name, cls: "TemplateVM", netvm: t.netvm });
    for (const q of layout.qubes) this.nodes.set(q.name, { name: q.name, cls: q.class, netvm: q.netvm, qube: q });
  }

  qube(name: string): ResolvedQube | undefined {
    return this.nodes.get(name)?.qube;
  }

  /** Whether the qube has any network interface at all (components/nics.ts). */
  hasInterface(name: string): boolean {
    const n = this.nodes.get(name)!;
    if (n.cls === "TemplateVM") return n.netvm !== null;
    const q = n.qube!;
    if (q.netvm !== null || q.provides !== undefined) return true;
    return q.class === "NetVM" && q.uplink !== undefined && q.uplink.kind !== "pci";
  }

  /** A NetVM whose uplink is a domain interface (the lab's: a libvirt network). */
  hasUplink(q: ResolvedQube): boolean {
    return q.class === "NetVM" && q.uplink !== undefined && q.uplink.kind !== "pci";
  }

  /** Every address a qube holds. */
  addressesOf(name: string): string[] {
    const q = this.qube(name);
    if (q === undefined) return [];
    const out: string[] = [];
    if (q.addressing !== undefined) out.push(q.addressing.ip);
    if (q.provides !== undefined) out.push(q.provides.gateway, q.provides.dispvmGateway);
    return out;
  }

  /** The address `from` uses for qube `to`: its gateway when `to` is its netvm, else `to`'s own. */
  addressFor(from: string, to: string): string | undefined {
    const src = this.qube(from);
    const dst = this.qube(to);
    if (dst === undefined) return undefined;
    if (src?.netvm === to && dst.provides !== undefined) {
      return src.class === "DispVM" ? dst.provides.dispvmGateway : dst.provides.gateway;
    }
    return dst.addressing?.ip ?? dst.provides?.gateway;
  }

  /** The qube holding `ip`, if any. */
  ownerOf(ip: string): string | undefined {
    for (const q of this.layout.qubes) if (this.addressesOf(q.name).includes(ip)) return q.name;
    return undefined;
  }

  serves(target: Endpoint, p: Packet): boolean {
    const svc = target === INTERNET || target === DNS ? this.world.internet : target === HOST ? undefined : servicesOf(this.world, target);
    if (svc === undefined) return false;
    if (p.proto === "icmp") return svc.icmp;
    return (p.proto === "tcp" ? svc.tcp : svc.udp).includes(p.port!);
  }
}

/**
 * Whether `from` gets an answer for packet `p`, and why. Walks the path the
 * packet takes: the source's port (its nwfilter, when it is a client), its
 * provider (local delivery, or forwarding of client-initiated traffic upstream
 * only, masqueraded, with DNS DNAT), and so on up to the NetVM's uplink.
 */
function reach(t: Topology, from: string, p: Packet, target: Endpoint): { verdict: Verdict; why: string } {
  const node = t.nodes.get(from)!;
  if (!t.hasInterface(from)) {
    return { verdict: "blocked", why: node.cls === "TemplateVM" ? `template ${from} has no network interface` : `${from} has no netvm and no network interface` };
  }
  const q = node.qube;
  if (q === undefined) {
    // A template given a netvm anyway (a policy violation): it has a port but no address.
    return { verdict: "blocked", why: `template ${from} has a port on ${node.netvm}'s network but no address` };
  }
  if (t.addressesOf(from).includes(p.dst)) return { verdict: "blocked", why: "own address" };

  // A provider's client port is on its clients' network, but each client's port
  // filter is stateful: libvirt's nwfilter lets in only replies to connections
  // the client opened, whatever its rules say. That matches Qubes, where a
  // qube's own input firewall rejects connections from its netvm (bulkhead is
  // stricter on one point: Qubes accepts ICMP echo there).
  if (q.provides !== undefined) {
    const owner = t.ownerOf(p.dst);
    const client = owner === undefined ? undefined : t.qube(owner);
    if (client !== undefined && client.netvm === from) {
      if (!t.unfiltered.has(owner!)) {
        return { verdict: "blocked", why: `${owner}'s port filter admits only replies to connections ${owner} opened` };
      }
      return t.serves(owner!, p)
        ? { verdict: "pass", why: `${owner}'s port has no filter: ${from}'s client port reaches it` }
        : { verdict: "blocked", why: `${owner} serves no ${p.proto}${p.port === undefined ? "" : `/${p.port}`}` };
    }
  }

  if (q.netvm !== null) {
    const netvm = t.qube(q.netvm)!;
    const fw = t.unfiltered.has(from) ? { verdict: "pass" as const, rule: undefined } : firewallVerdict(q.firewall, p, q.addressing?.dns ?? []);
    const fwWhy = t.unfiltered.has(from) ? "none on its port" : describeRule(q.firewall, fw.rule);
    if (fw.verdict === "blocked") return { verdict: "blocked", why: `${from}'s firewall: ${fwWhy}` };
    const owner = t.ownerOf(p.dst);
    if (owner === q.netvm) {
      // Qubes' netvm input policy: its clients get ICMP answers (and DNS, which
      // is DNAT-ed and forwarded, never delivered); every other connection to
      // the provider itself is rejected.
      if (p.proto !== "icmp") {
        return { verdict: "blocked", why: `${owner} accepts only ICMP from its clients (its own services are not theirs)` };
      }
      return t.serves(owner, p)
        ? { verdict: "pass", why: `client of ${owner}, firewall ${fwWhy}` }
        : { verdict: "blocked", why: `${owner} serves no ${p.proto}` };
    }
    if (owner !== undefined && t.qube(owner)?.netvm === q.netvm) {
      return { verdict: "blocked", why: `${owner} is another client of ${q.netvm}: client ports are isolated and ${q.netvm} forwards only upstream` };
    }
    if (p.dst === t.world.dns && (p.proto === "tcp" || p.proto === "udp") && p.port === 53) {
      // The provider DNATs the virtual pair to its own upstream resolver and forwards from there.
      if (netvm.class === "NetVM") return dnsAtNetvm(t, netvm, p, `${from} (firewall ${fwWhy}) -> ${q.netvm}`);
      const up = reach(t, q.netvm, p, target);
      return { verdict: up.verdict, why: `${from} (firewall ${fwWhy}) -> ${q.netvm} DNAT: ${up.why}` };
    }
    if (!t.hasInterface(q.netvm) || (netvm.netvm === null && !t.hasUplink(netvm))) {
      return { verdict: "blocked", why: `${q.netvm} has no upstream to forward to` };
    }
    const up = reach(t, q.netvm, p, target);
    return { verdict: up.verdict, why: `${from} (firewall ${fwWhy}) -> ${q.netvm} forwards: ${up.why}` };
  }

  // A NetVM with an uplink: its default route points at the uplink's router (the internet host).
  if (t.hasUplink(q)) {
    if (p.dst === t.world.internet.address) {
      return t.serves(INTERNET, p)
        ? { verdict: "pass", why: `${from}'s uplink reaches the internet host` }
        : { verdict: "blocked", why: `the internet host serves no ${p.proto}/${String(p.port)}` };
    }
    if (p.dst === t.world.dns && (p.proto === "tcp" || p.proto === "udp") && p.port === 53) return dnsAtNetvm(t, q, p, from);
    return { verdict: "blocked", why: `${from} sends it out of its uplink, whose router forwards nothing` };
  }
  return { verdict: "blocked", why: `${from} has no route to ${p.dst}` };
}

function dnsAtNetvm(t: Topology, netvm: ResolvedQube, p: Packet, via: string): { verdict: Verdict; why: string } {
  if (!t.hasUplink(netvm)) return { verdict: "blocked", why: `${via}: ${netvm.name} has no uplink resolver` };
  return t.serves(DNS, p)
    ? { verdict: "pass", why: `${via}: ${netvm.name} DNATs DNS to its uplink's resolver` }
    : { verdict: "blocked", why: `${via}: the resolver serves no ${p.proto}/53` };
}

// ---------------------------------------------------------------- flows

interface Probe {
  proto: Proto;
  port?: number;
}

function probesOf(svc: { tcp: number[]; udp: number[]; icmp: boolean }): Probe[] {
  return [
    ...(svc.icmp ? [{ proto: "icmp" as const }] : []),
    ...svc.tcp.map((port) => ({ proto: "tcp" as const, port })),
    ...svc.udp.map((port) => ({ proto: "udp" as const, port })),
  ];
}

function flowId(from: string, to: Endpoint, pr: Probe, address: string | undefined, many: boolean): string {
  const what = pr.port === undefined ? pr.proto : `${pr.proto}/${pr.port}`;
  return `${from}->${to} ${what}${many && address !== undefined ? ` @${address}` : ""}`;
}

/** Every source, in layout order: templates first, then qubes (dependency order). */
export function sourcesOf(layout: ResolvedLayout): string[] {
  return [...layout.templates.map((t) => t.name), ...layout.qubes.map((q) => q.name)];
}

/** Every flow the prover checks, with its expected verdict; deterministic order. */
export function expectedFlows(layout: ResolvedLayout, world: World = LAB_WORLD, assume: Assumptions = {}): Flow[] {
  const t = new Topology(layout, world, assume);
  const names = sourcesOf(layout);
  const flows: Flow[] = [];
  const add = (from: string, to: Endpoint, address: string | undefined, pr: Probe, many: boolean, fixed?: { verdict: Verdict; why: string }) => {
    let r = fixed;
    if (r === undefined) {
      const p: Packet = { dst: address!, proto: pr.proto, ...(pr.port !== undefined ? { port: pr.port } : {}), ...(pr.proto === "icmp" ? { icmptype: 8 } : {}) };
      r = reach(t, from, p, to);
    }
    const flow: Flow = { id: flowId(from, to, pr, address, many), from, to, proto: pr.proto, expect: r.verdict, why: r.why };
    if (address !== undefined) flow.address = address;
    if (pr.port !== undefined) flow.port = pr.port;
    flows.push(flow);
  };
  for (const from of names) {
    for (const to of names) {
      if (to === from) continue;
      const address = t.addressFor(from, to);
      const why = t.nodes.get(to)!.cls === "TemplateVM" ? `template ${to} has no address` : `${to} has no address (no netvm)`;
      for (const pr of probesOf(servicesOf(world, to))) {
        add(from, to, address, pr, false, address === undefined ? { verdict: "blocked", why } : undefined);
      }
    }
    const hostFixed = { verdict: "blocked" as const, why: "the libvirt host is on no qube network and no provider routes to it" };
    for (const address of world.hostAddresses) {
      for (const pr of probesOf({ ...world.hostPorts, icmp: true })) add(from, HOST, address, pr, world.hostAddresses.length > 1, hostFixed);
    }
    for (const pr of probesOf(world.internet)) add(from, INTERNET, world.internet.address, pr, false);
    for (const pr of [{ proto: "udp" as const, port: 53 }, { proto: "tcp" as const, port: 53 }]) add(from, DNS, world.dns, pr, false);
  }
  return flows;
}
