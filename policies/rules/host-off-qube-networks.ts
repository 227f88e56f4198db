// host-off-qube-networks: the libvirt host plays dom0, which runs no
// networking for qubes and has no address on their networks
// (developer/system/architecture).
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { networkOwner, qubeFacingNetworks } from "../topology";

const NAME = "host-off-qube-networks";

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const net of qubeFacingNetworks(model)) {
    const owner = networkOwner(model, net.name);
    if (net.ips.length > 0) {
      const ips = net.ips.map((ip) => `${ip.address}/${ip.prefix}`).join(", ");
      out.push(finding(NAME, owner, `network "${net.name}" gives the host the address ${ips}; remove its ips: the host keeps no address on qube networks`));
    }
    if (net.forward !== undefined) {
      out.push(finding(NAME, owner, `network "${net.name}" forwards through the host (mode ${net.forward.mode}); remove its forward: qube traffic leaves only through the NetVM`));
    }
  }
  return out.sort((a, b) => (a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0));
}

export const rule: Rule = {
  name: NAME,
  description:
    "No qube-facing network gives the libvirt host an address or forwards/NATs through the host. Protects the " +
    "host (Qubes' dom0) from being reachable by, or routing for, qubes. Qubes: dom0 runs no networking for qubes " +
    "(developer/system/architecture).",
  enforcementLevel: "mandatory",
  severity: "critical",
  tags: ["qubes", "network", "host"],
  remediationSteps:
    "Remove ips and forward from every network qubes sit on: the libvirt host keeps no address on qube networks and routes nothing for them.",
  scope: "stack",
  check,
};
