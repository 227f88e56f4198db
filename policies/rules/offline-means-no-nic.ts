// offline-means-no-nic: a qube declared without netvm has no network interface
// at all, as Qubes' netvm=None means (vault: Salt qvm/vault.sls).
import type { DomainModel, HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { clientInterfaces, describeInterface, list, sortedDomains } from "../topology";

const NAME = "offline-means-no-nic";
// Templates and the UsbVM have their own rules; a NetVM's client ports are its uplink.
const SKIP = new Set(["TemplateVM", "UsbVM", "NetVM"]);

/** The qubes this rule judges: declared offline (no netvm), of a class without its own rule. */
export const declaredOffline = (d: DomainModel): boolean => !SKIP.has(d.class) && d.netvm === undefined;

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    if (!declaredOffline(d)) continue;
    // A ProxyVM's own provider port serves its clients; only its uplink would break "offline".
    const nics = clientInterfaces(d);
    if (nics.length === 0) continue;
    out.push(
      finding(
        NAME,
        d.qube,
        `${d.class} "${d.qube}" has no netvm but has a network interface (${list(nics.map(describeInterface))}); ` +
          "remove the interface, or give it a netvm",
      ),
    );
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "A qube without netvm has no network interface at all. Protects an offline qube (a vault) from a forgotten " +
    "NIC that quietly makes it reachable. Qubes: netvm None means no network; vault has no netvm (Salt qvm/vault.sls).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network"],
  remediationSteps:
    "Remove the domain's network interfaces, or give the qube a netvm so its interface is an intended, filtered one.",
  scope: "domain",
  check,
};
