// device-exclusive: one device, one qube. A device that cannot be reset counts
// as tainted after its first qube (user/security-in-qubes/device-handling-security).
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { list, sortedDomains } from "../topology";

const NAME = "device-exclusive";

export function check(model: HostModel): Finding[] {
  const holders = new Map<string, Set<string>>();
  const hold = (device: string, qube: string) => {
    const qubes = holders.get(device) ?? new Set<string>();
    qubes.add(qube);
    holders.set(device, qubes);
  };
  for (const d of sortedDomains(model)) {
    for (const a of d.pci) hold(`PCI device ${a}`, d.qube);
    for (const u of d.usb) hold(`USB device ${u}`, d.qube);
  }
  const out: Finding[] = [];
  for (const [device, held] of [...holders].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (held.size < 2) continue;
    const qubes = [...held];
    // One device, one finding, filed under its first holder by name.
    const [first, ...others] = qubes;
    out.push(finding(NAME, first, `${device} is also given to ${list(others)}; a device belongs to one qube: remove it from all but one`));
  }
  return out.sort((a, b) => (a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : 0));
}

export const rule: Rule = {
  name: NAME,
  description:
    "No PCI or USB device is given to two qubes. Protects against a device carrying state (or an attack) from one " +
    "qube to another. Qubes: a device that cannot be reset is tainted after its first qube " +
    "(user/security-in-qubes/device-handling-security).",
  enforcementLevel: "mandatory",
  severity: "medium",
  tags: ["qubes", "devices"],
  remediationSteps:
    "Give each PCI or USB device to one qube only: remove it from all the others.",
  scope: "stack",
  check,
};
