// pci-netvm-usbvm-only: PCI passthrough goes to the NetVM (network controllers)
// and the UsbVM (USB controllers) only, as Qubes' Salt states do (qvm/sys-net,
// qvm/sys-usb); a passed-through device is untrusted hardware in a qube.
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { sortedDomains } from "../topology";

const NAME = "pci-netvm-usbvm-only";

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    if (d.class === "NetVM" || d.class === "UsbVM") continue;
    for (const address of d.pci) {
      out.push(
        finding(
          NAME,
          d.qube,
          `${d.class} "${d.qube}" has PCI device ${address} passed through; only NetVMs and UsbVMs take PCI devices: ` +
            "give network cards to a NetVM and USB controllers to a UsbVM",
        ),
      );
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "PCI passthrough only on NetVMs and UsbVMs. Protects against DMA-capable hardware and its drivers' attack " +
    "surface landing in a qube that holds data. Qubes: network controllers go to sys-net, USB controllers to " +
    "sys-usb (Salt qvm/sys-net.sls, qvm/sys-usb.sls; user/security-in-qubes/device-handling-security).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "devices"],
  remediationSteps:
    "Move network cards to the NetVM (uplink: { pci: [...] }) and USB controllers to the UsbVM (devices.pci); take PCI devices off every other qube.",
  scope: "domain",
  check,
};
