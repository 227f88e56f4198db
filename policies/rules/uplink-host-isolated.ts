// uplink-host-isolated: sys-net is untrusted (developer/system/security-critical-code);
// an uplink on a host bridge puts it on the host's own L2 segment, where PCI
// passthrough or macvtap (which cannot reach the host) keep it away.
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { clientInterfaces, findNetwork, sortedDomains } from "../topology";

const NAME = "uplink-host-isolated";
const FIX = "prefer uplink: { pci: [...] } (NIC passthrough) or { macvtap: { dev } }";

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model).filter((x) => x.class === "NetVM")) {
    for (const iface of clientInterfaces(d)) {
      if (iface.type === "bridge") {
        out.push(finding(NAME, d.qube, `NetVM "${d.qube}" uplink is host bridge "${iface.bridge ?? ""}", which shares L2 with the host; ${FIX}`));
      } else if (iface.type === "network") {
        // An uplink network the host has an address on (e.g. libvirt's NAT `default`) shares L2 with it too.
        const net = iface.network === undefined ? undefined : findNetwork(model, iface.network);
        if (net !== undefined && (net.ips.length > 0 || net.forward?.mode === "bridge")) {
          out.push(finding(NAME, d.qube, `NetVM "${d.qube}" uplink is network "${net.name}", which shares L2 with the host (a host address or a host bridge); ${FIX}`));
        }
      }
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "A NetVM uplink on a host bridge shares L2 with the host: prefer pci or macvtap. Protects the host from a " +
    "compromised NetVM, which handles all untrusted network traffic. Qubes: network controllers are passed to " +
    "sys-net and dom0 has no network (developer/system/architecture, security-critical-code).",
  enforcementLevel: "advisory",
  severity: "medium",
  tags: ["qubes", "network", "host"],
  remediationSteps:
    "Give the NetVM its network card by PCI passthrough (uplink: { pci: [...] }) or macvtap (uplink: { macvtap: { dev } }) instead of a host bridge.",
  scope: "stack",
  check,
};
