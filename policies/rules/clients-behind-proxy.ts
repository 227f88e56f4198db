// clients-behind-proxy: client qubes reach the network through a firewall
// ProxyVM, never straight through the NetVM (user/security-in-qubes/firewall).
import type { DomainModel, HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { netvmsOf, sortedDomains } from "../topology";

const NAME = "clients-behind-proxy";
const CLIENTS = new Set(["AppVM", "DispVM", "StandaloneVM"]);

export function check(model: HostModel): Finding[] {
  const domains = sortedDomains(model);
  // Per NetVM, the first ProxyVM (by qube) in front of it: computed once, not per finding.
  const proxyOf = new Map<DomainModel, DomainModel>();
  for (const p of domains) {
    if (p.class !== "ProxyVM") continue;
    for (const n of netvmsOf(model, p)) if (!proxyOf.has(n)) proxyOf.set(n, p);
  }
  const out: Finding[] = [];
  for (const d of domains) {
    if (!CLIENTS.has(d.class)) continue;
    for (const netvm of netvmsOf(model, d)) {
      if (netvm.class !== "NetVM") continue;
      // Suggest a ProxyVM that already sits in front of this NetVM, if the host has one.
      const proxy = proxyOf.get(netvm);
      const fix =
        proxy === undefined
          ? `put a ProxyVM with netvm: ${netvm.qube} in between and make it its netvm`
          : `give it netvm: ${proxy.qube} (a ProxyVM)`;
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" connects straight to NetVM "${netvm.qube}"; ${fix}`));
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "AppVMs, DispVMs and StandaloneVMs with network connect through a ProxyVM, never straight to a NetVM. " +
    "Protects against client qubes whose egress rules nobody enforces and that face the untrusted NetVM directly. " +
    "Qubes: client qubes attach to sys-firewall, not sys-net (user/security-in-qubes/firewall).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network", "firewall"],
  remediationSteps:
    "Set the client's netvm to a ProxyVM (e.g. sys-firewall) whose netvm is the NetVM, so its traffic passes a firewall qube before the untrusted sys-net.",
  scope: "stack",
  check,
};
