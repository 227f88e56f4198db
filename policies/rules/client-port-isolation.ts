// client-port-isolation: on a provider's client network only the provider's
// port talks to the others, as Qubes gives each client a /32 link to its netvm
// (developer/system/networking); one network serves one provider's clients.
import { isKnown, type DomainModel, type HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { PROVIDER_CLASSES, attachments, byQube, list, networkOwner, providersOf, qubeFacingNetworks } from "../topology";

const NAME = "client-port-isolation";

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const net of qubeFacingNetworks(model)) {
    const owner = networkOwner(model, net.name);
    if (!net.portIsolated) {
      out.push(finding(NAME, owner, `network "${net.name}" does not isolate its ports, so clients reach each other; set port: { isolated: true } on the network`));
    }
    const providers = providersOf(model, net.name);
    if (providers.length > 1) {
      out.push(finding(NAME, owner, `network "${net.name}" carries clients of ${providers.length} providers (${list(providers.map((p) => p.qube))}); give each provider its own client network`));
    }
    const open = attachments(model, net.name)
      .filter((a) => a.iface.portIsolated === false && !PROVIDER_CLASSES.has(a.domain.class))
      .map((a) => a.domain)
      .sort(byQube);
    for (const d of new Set(open)) {
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" has a non-isolated port (isolated=false) on network "${net.name}"; only the provider's port may be: remove the port override`));
    }
    out.push(...shared(model, net.name));
  }
  return out.sort((a, b) => (a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0));
}

/**
 * Two ports on one network with one MAC or one address: frames and replies go to the wrong
 * qube, and clean-traffic pins one qube's address to another's port. Each port is named once
 * per clash, with at most a few of the others.
 */
function shared(model: HostModel, network: string): Finding[] {
  const byMac = new Map<string, DomainModel[]>();
  const byIp = new Map<string, DomainModel[]>();
  const add = (map: Map<string, DomainModel[]>, key: string | undefined, d: DomainModel) => {
    if (!isKnown(key) || key === "") return;
    const list = map.get(key);
    if (list === undefined) map.set(key, [d]);
    else list.push(d);
  };
  for (const a of attachments(model, network)) {
    add(byMac, a.iface.mac, a.domain);
    add(byIp, a.iface.filter?.parameters.IP, a.domain);
  }
  const out: Finding[] = [];
  const report = (map: Map<string, DomainModel[]>, what: string, fix: string) => {
    for (const [value, holders] of [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (holders.length < 2) continue;
      const names = [...new Set(holders.map((d) => d.qube))].sort();
      for (const d of [...new Set(holders)].sort(byQube)) {
        const others = names.filter((n) => n !== d.qube);
        const shown = others.length > 5 ? `${list(others.slice(0, 5))} and ${others.length - 5} more` : list(others);
        const also = others.length === 0 ? "another of its own ports" : shown;
        out.push(finding(NAME, d.qube, `${what} ${value} on network "${network}" is also used by ${also}; ${fix}`));
      }
    }
  };
  report(byMac, "MAC", "every port needs its own MAC: remove the mac override or pick another");
  report(byIp, "address", "every port needs its own address: give each qube its own IP");
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "On a provider's client network, client ports are isolated from each other and only the provider's port is " +
    "not; one network never carries clients of two providers; no two ports on it share a MAC or an address. Protects against lateral movement between qubes " +
    "that share a netvm. Qubes: each client is a routed /32 link to its netvm (developer/system/networking).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network"],
  remediationSteps:
    "Set port: { isolated: true } on the provider's client network and isolated: false only on the provider's own port; give each provider a network of its own.",
  scope: "stack",
  check,
};
