// netvm-graph: the network graph Qubes' netvm setter allows (qubes/vm/mix/net.py),
// rebuilt from the wiring: every netvm exists and provides network, no loops,
// every chain ends at a NetVM, and only NetVMs attach to the host's network.
import { isKnown, type DomainModel, type HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import {
  PROVIDER_CLASSES,
  byQube,
  clientInterfaces,
  describeInterface,
  findQube,
  list,
  netvmsOf,
  providersOf,
  sortedDomains,
} from "../topology";

const NAME = "netvm-graph";

function wiring(model: HostModel, d: DomainModel): Finding[] {
  const out: Finding[] = [];
  for (const iface of clientInterfaces(d)) {
    if (d.class === "NetVM") continue; // a NetVM's client ports are its uplink
    if (iface.type !== "network") {
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" attaches to ${describeInterface(iface)} directly, bypassing any netvm; only a NetVM takes an uplink: give it a netvm (a ProxyVM such as sys-firewall)`));
    } else if (isKnown(iface.network) && providersOf(model, iface.network).length === 0) {
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" is on network "${iface.network}", which no NetVM or ProxyVM provides (no provider port with isolated=false); give it a netvm that provides network`));
    }
  }
  const netvms = netvmsOf(model, d);
  if (netvms.length > 1) {
    out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" gets network from ${netvms.length} qubes (${list(netvms.map((n) => n.qube))}); a qube has one netvm: keep one interface`));
  }
  if (d.netvm !== undefined) {
    const named = findQube(model, d.netvm, d.layout);
    if (named === undefined) {
      out.push(finding(NAME, d.qube, `netvm "${d.netvm}" does not exist; give it a netvm that is a NetVM or ProxyVM on this host`));
    } else if (!PROVIDER_CLASSES.has(named.class)) {
      out.push(finding(NAME, d.qube, `netvm "${d.netvm}" is a ${named.class}, which does not provide network; give it a NetVM or ProxyVM as netvm`));
    } else if (netvms.length === 1 && netvms[0] !== named) {
      out.push(finding(NAME, d.qube, `declares netvm "${d.netvm}" but is wired to "${netvms[0].qube}"'s network; attach it to the client network of "${d.netvm}"`));
    }
  }
  return out;
}

/**
 * Follows each qube's netvm chain: reports each loop once, a NetVM behind a qube, and chains that
 * stop at a ProxyVM. Each domain has at most one next hop, so one walk per domain that stops at the
 * first domain already seen is linear, however long the chains.
 */
function chains(model: HostModel, domains: DomainModel[]): Finding[] {
  const next = (d: DomainModel): DomainModel | undefined => netvmsOf(model, d)[0];
  const inLoop = new Map<DomainModel, DomainModel[]>();
  const deadEnds = new Map<DomainModel, Set<string>>();
  const done = new Set<DomainModel>();
  for (const start of domains) {
    const walk: DomainModel[] = [];
    const at = new Map<DomainModel, number>();
    for (let n: DomainModel | undefined = start; n !== undefined && !done.has(n); n = next(n)) {
      const seen = at.get(n);
      if (seen !== undefined) {
        const loop = walk.slice(seen);
        for (const member of loop) if (!inLoop.has(member)) inLoop.set(member, loop);
        break;
      }
      at.set(n, walk.length);
      walk.push(n);
    }
    for (const d of walk) done.add(d);
  }
  // A chain stops at `end` (no netvm, not a NetVM): every qube whose netvm it is was stranded there.
  for (const d of domains) {
    const end = next(d);
    if (end !== undefined && end !== d && next(end) === undefined && end.class !== "NetVM") {
      const clients = deadEnds.get(end) ?? new Set<string>();
      clients.add(d.qube);
      deadEnds.set(end, clients);
    }
  }
  const out: Finding[] = [];
  const netvm = domains.find((d) => d.class === "NetVM");
  // One loop is one cause: reported once, by the member to fix first (a NetVM whose uplink closes
  // the loop, else the first by name), read from its own view.
  const reported = new Set<DomainModel[]>();
  // Chosen once per loop: sorting a long loop again for each member would be quadratic.
  const reporters = new Map<DomainModel[], DomainModel>();
  for (const d of domains) {
    const loop = inLoop.get(d);
    if (loop !== undefined && !reported.has(loop)) {
      let reporter = reporters.get(loop);
      if (reporter === undefined) {
        reporter = loop.find((m) => m.class === "NetVM") ?? [...loop].sort(byQube)[0];
        reporters.set(loop, reporter);
      }
      if (reporter === d) {
        reported.add(loop);
        const at = loop.indexOf(d);
        const names = [...loop.slice(at), ...loop.slice(0, at), d].map((x) => x.qube);
        out.push(finding(NAME, d.qube, `netvm loop ${names.join(" -> ")}; break it so the chain ends at a NetVM`));
      }
    } else if (loop === undefined && d.class === "NetVM" && next(d) !== undefined) {
      // A NetVM wired as another qube's client: its "uplink" is a qube network (and unfiltered there).
      const provider = next(d) as DomainModel;
      out.push(finding(NAME, d.qube, `NetVM "${d.qube}" takes its uplink from the client network of ${provider.class} "${provider.qube}"; a NetVM's uplink comes from the host (pci, macvtap, a bridge or a libvirt network outside the layout)`));
    }
    const clients = deadEnds.get(d);
    if (clients !== undefined) {
      const fix = netvm === undefined ? "a NetVM" : `${netvm.qube} (a NetVM)`;
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" has no netvm, so its clients (${list([...clients].sort())}) reach no NetVM; give it netvm: ${fix}`));
    }
  }
  return out;
}

export function check(model: HostModel): Finding[] {
  const domains = sortedDomains(model);
  // Stable sort: per qube, wiring faults come before chain faults.
  return [...domains.flatMap((d) => wiring(model, d)), ...chains(model, domains)].sort((a, b) =>
    a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0,
  );
}

export const rule: Rule = {
  name: NAME,
  description:
    "Every netvm exists and provides network, there are no netvm loops, and every chain ends at a NetVM; " +
    "only a NetVM takes an uplink. Protects against qubes that bypass their firewall or reach the host's network " +
    "directly. Qubes: the netvm must have provides_network and loops are rejected (qubes/vm/mix/net.py).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network", "netvm"],
  remediationSteps:
    "Point the qube's netvm at a NetVM or at a ProxyVM whose own netvm chain ends at a NetVM; break any loop; give a NetVM its uplink from the host (pci, macvtap, bridge or a libvirt network outside the layout), never from another qube's client network.",
  scope: "stack",
  check,
};
