// memory-budget: the qubes that start with the host fit in the memory the host
// can give them (Qubes' qmemman balances memory; libvirt does not, so an
// overcommitted host fails to start qubes or swaps them).
import type { HostModel } from "../model";
import { HOST, finding, type Finding, type Rule } from "../rule";
import { sortedDomains } from "../topology";

const NAME = "memory-budget";

export interface MemoryBudgetConfig {
  /** MiB the host can give to qubes (the layout's `host.memory`); no budget, no check. */
  hostMemoryMiB?: number;
}

/** A domain starts with currentMemory (when set) and only grows if the host balloons it. */
export const startMemory = (d: { memoryMiB: number; currentMemoryMiB?: number }): number =>
  d.currentMemoryMiB ?? d.memoryMiB;

export function check(model: HostModel, config: MemoryBudgetConfig = {}): Finding[] {
  const budget = config.hostMemoryMiB;
  if (budget === undefined) return [];
  const autostart = sortedDomains(model).filter((d) => d.autostart);
  const need = autostart.reduce((sum, d) => sum + startMemory(d), 0);
  if (need <= budget) return [];
  const each = autostart.map((d) => `${d.qube} ${startMemory(d)}`).join(", ");
  return [
    finding(
      NAME,
      HOST,
      `autostart qubes need ${need} MiB (${each}) but the host gives ${budget} MiB; ` +
        "lower their memory, set autostart: false on some, or raise host.memory",
    ),
  ];
}

export const rule: Rule<MemoryBudgetConfig> = {
  name: NAME,
  description:
    "Autostart qubes fit in host.memory. Protects against a host that cannot start its NetVM, firewall or " +
    "UsbVM at boot, leaving qubes without their protections. Qubes: sys-net, sys-firewall and sys-usb " +
    "autostart (Salt qvm/*.sls); memory defaults to 400 MiB (qubes/vm/qubesvm.py).",
  enforcementLevel: "advisory",
  severity: "low",
  tags: ["qubes", "host", "memory"],
  remediationSteps:
    "Lower the memory of autostart qubes, set autostart: false on some, or raise host.memory to what the host really gives.",
  scope: "stack",
  configSchema: {
    properties: {
      hostMemoryMiB: { type: "integer", minimum: 1, description: "MiB the host can give to qubes (host.memory)" },
    },
  },
  check,
};
