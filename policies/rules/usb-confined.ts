// usb-confined: all USB sits in the UsbVM and the UsbVM is offline (Salt
// qvm/sys-usb.sls); a USB qube trusted with input devices controls the system.
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { clientInterfaces, describeInterface, list, sortedDomains } from "../topology";

const NAME = "usb-confined";

export interface UsbConfinedConfig {
  /** PCI addresses of the host's USB controllers (`0000:00:14.0`); domain inputs do not say a device's class. */
  usbControllers?: string[];
}

const normalise = (a: string): string => a.trim().toLowerCase();

export function check(model: HostModel, config: UsbConfinedConfig = {}): Finding[] {
  const controllers = new Set((config.usbControllers ?? []).map(normalise));
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    if (d.class === "UsbVM") {
      const nics = clientInterfaces(d);
      if (d.netvm !== undefined || nics.length > 0) {
        const what = d.netvm !== undefined ? `netvm "${d.netvm}"` : `a network interface (${list(nics.map(describeInterface))})`;
        out.push(finding(NAME, d.qube, `UsbVM "${d.qube}" has ${what}; remove it: the UsbVM holds untrusted USB devices and stays offline`));
      }
      continue;
    }
    for (const address of d.pci.filter((a) => controllers.has(a))) {
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" has USB controller ${address} passed through; give it to the UsbVM instead`));
    }
    for (const id of d.usb) {
      out.push(finding(NAME, d.qube, `${d.class} "${d.qube}" has USB device ${id} passed through; USB devices belong to the UsbVM: pass it there instead`));
    }
  }
  return out;
}

export const rule: Rule<UsbConfinedConfig> = {
  name: NAME,
  description:
    "USB controllers and USB devices only on the UsbVM, and the UsbVM has no netvm. Protects against malicious " +
    "USB devices reaching a qube with data or network, and a USB qube (which can inject input) talking to the " +
    "network. Qubes: all USB controllers sit in sys-usb, which has no netvm (Salt qvm/sys-usb.sls).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "devices", "usb"],
  remediationSteps:
    "Pass USB devices and USB controllers to the UsbVM only, and give the UsbVM no netvm (netvm: null).",
  scope: "domain",
  configSchema: {
    properties: {
      usbControllers: {
        type: "array",
        items: { type: "string", pattern: "^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$" },
        description: "PCI addresses of the host's USB controllers; only a UsbVM may take them",
      },
    },
  },
  check,
};
