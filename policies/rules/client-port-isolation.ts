// client-port-isolation: on a provider's client network only the provider's
// port talks to the others, as Qubes gives each client a /32 link to its netvm
// (developer/system/networking); one network serves one provider's clients.
import type { HostModel } from "../model";
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
  }
  return out.sort((a, b) => (a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0));
}

export const rule: Rule = {
  name: NAME,
  description:
    "On a provider's client network, client ports are isolated from each other and only the provider's port is " +
    "not; one network never carries clients of two providers. Protects against lateral movement between qubes " +
    "that share a netvm. Qubes: each client is a routed /32 link to its netvm (developer/system/networking).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network"],
  remediationSteps:
    "Set port: { isolated: true } on the provider's client network and isolated: false only on the provider's own port; give each provider a network of its own.",
  scope: "stack",
  check,
};
