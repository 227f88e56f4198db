// egress-filtered: qvm-firewall rules are enforced outside the qube and fail
// closed (user/security-in-qubes/firewall); here the host enforces them on the
// client's own port with an nwfilter that includes clean-traffic and ends in drops.
import type { NwFilterRule } from "../../libvirt/types";
import { isKnown, type FilterModel, type HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { clientInterfaces, findFilter, providersOf, sortedDomains } from "../topology";
import { declaredOffline } from "./offline-means-no-nic";

const NAME = "egress-filtered";
const ANTI_SPOOFING = "clean-traffic";

function includes(model: HostModel, filter: FilterModel, wanted: string, seen = new Set<string>()): boolean {
  if (seen.has(filter.name)) return false;
  seen.add(filter.name);
  return filter.filterrefs.some((ref) => {
    if (ref.filter === wanted) return true;
    const inner = findFilter(model, ref.filter);
    return inner !== undefined && includes(model, inner, wanted, seen);
  });
}

const unconditional = (r: NwFilterRule): boolean =>
  r.match === undefined || Object.keys(r.match).every((k) => k === "comment");

/** The last outgoing rules (by priority, ties in order) are unconditional drops for all and all-ipv6. */
export function endsWithDrops(rules: readonly NwFilterRule[]): boolean {
  const outgoing = rules
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.direction === "out" || r.direction === "inout")
    .sort((a, b) => a.r.priority - b.r.priority || a.i - b.i)
    .map(({ r }) => r);
  const tail = new Set<string>();
  for (let k = outgoing.length - 1; k >= 0; k--) {
    const r = outgoing[k];
    if ((r.action !== "drop" && r.action !== "reject") || !unconditional(r)) break;
    tail.add(r.protocol);
  }
  return tail.has("all") && tail.has("all-ipv6");
}

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    // One cause, one finding: a template on a qube network is template-offline's, a NetVM on
    // one (its uplink taken from a qube) netvm-graph's, an interface of an offline qube
    // offline-means-no-nic's.
    if (d.class === "TemplateVM" || d.class === "NetVM" || declaredOffline(d)) continue;
    for (const iface of clientInterfaces(d)) {
      if (iface.type !== "network" || !isKnown(iface.network)) continue;
      if (providersOf(model, iface.network).length === 0) continue; // an uplink, not a client port
      const on = `its interface on "${iface.network}"`;
      const say = (text: string) => out.push(finding(NAME, d.qube, text));
      if (iface.filter === undefined) {
        say(`${on} has no nwfilter, so its egress is unfiltered; add a filterref to the qube's firewall filter`);
        continue;
      }
      const filter = findFilter(model, iface.filter.name);
      if (filter === undefined) {
        say(`${on} refers to nwfilter "${iface.filter.name}", which is not defined; define it (the qube's firewall rules)`);
        continue;
      }
      if (iface.filter.parameters.IP === undefined) {
        say(`${on} passes no IP parameter to nwfilter "${filter.name}", so clean-traffic cannot pin the qube's address; pass IP`);
      }
      if (!includes(model, filter, ANTI_SPOOFING)) {
        say(`nwfilter "${filter.name}" does not include ${ANTI_SPOOFING} (anti-spoofing); add filterref ${ANTI_SPOOFING}`);
      }
      if (!endsWithDrops(filter.rules)) {
        say(`nwfilter "${filter.name}" does not end with drop rules for all and all-ipv6 (direction out); append them so unmatched traffic is dropped`);
      }
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "Every client interface carries the qube's firewall filter: clean-traffic (anti-spoofing) with the qube's IP, " +
    "and final drops for all and all-ipv6. Protects against unfiltered egress and address spoofing by a " +
    "compromised qube. Qubes: qvm-firewall is enforced outside the qube, unmatched traffic is dropped, and it " +
    "fails closed (user/security-in-qubes/firewall).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network", "firewall"],
  remediationSteps:
    "Give every client interface a filterref to the qube's firewall nwfilter with the IP parameter; the filter includes clean-traffic and ends with drop rules for all and all-ipv6 (bulkhead's components build it so).",
  scope: "stack",
  check,
};
