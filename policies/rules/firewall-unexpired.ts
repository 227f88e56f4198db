// firewall-unexpired: a qvm-firewall rule with `expire` stops applying at that
// time in Qubes; libvirt has no expiring rules, so bulkhead leaves an expired rule
// out at deploy time and writes each rule's expiry into its nwfilter comment. A
// deployed rule past its expiry keeps passing traffic until the next `up`: this
// policy reports it (from a live host in `bulkhead audit`).
import { parseExpireTag } from "../../libvirt/expire";
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { clientInterfaces, sortedDomains } from "../topology";

const NAME = "firewall-unexpired";

export interface FirewallUnexpiredConfig {
  /** The time to judge at, epoch seconds (default: now). */
  now?: number;
}

const iso = (t: number) => new Date(t * 1000).toISOString().replace(/\.000Z$/, "Z");

export function check(model: HostModel, config: FirewallUnexpiredConfig = {}): Finding[] {
  const now = config.now ?? Math.floor(Date.now() / 1000);
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    const filters = new Set(clientInterfaces(d).flatMap((i) => (i.filter === undefined ? [] : [i.filter.name])));
    for (const name of [...filters].sort()) {
      const filter = model.filters.find((f) => f.name === name);
      // One finding per expiry (a layout rule expands to several nwfilter rules).
      const expired = new Set<number>();
      for (const r of filter?.rules ?? []) {
        const at = parseExpireTag(r.match?.comment);
        if (at !== undefined && at <= now) expired.add(at);
      }
      for (const at of [...expired].sort((a, b) => a - b)) {
        out.push(
          finding(
            NAME,
            d.qube,
            `nwfilter "${name}" still holds a rule that expired at ${iso(at)} (${at}); run \`npm run up\` ` +
              "(or pulumi up) to leave it out, or remove its expire from the layout",
          ),
        );
      }
    }
  }
  return out;
}

export const rule: Rule<FirewallUnexpiredConfig> = {
  name: NAME,
  description:
    "No deployed firewall rule is past its expiry. Protects against a temporary opening (expire) that keeps " +
    "passing traffic because nothing removed it. Qubes: a rule with expire stops applying at that time " +
    "(qvm-firewall, qubes/firewall.py).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "firewall"],
  remediationSteps:
    "Run `npm run up` (or pulumi up) so the expired rule is left out of the qube's nwfilter, or remove its expire from the layout.",
  scope: "stack",
  configSchema: {
    properties: {
      now: { type: "integer", minimum: 0, description: "time to judge at, epoch seconds (default: now)" },
    },
  },
  check,
};
