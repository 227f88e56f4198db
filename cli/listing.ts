// `bulkhead ls` and `bulkhead firewall`: the two listings a Qubes user reads
// every day, `qvm-ls` (NAME STATE CLASS LABEL TEMPLATE NETVM) and
// `qvm-firewall <qube> list` (NO ACTION HOST PROTOCOL PORT(S) SPECIAL TARGET
// ICMP TYPE COMMENT), as pure functions of what the host or the layout holds.
import type { DomainArgs } from "../libvirt/types";
import type { FirewallRule, ResolvedLayout } from "../layout/model";
import { formatTable } from "../render/table";

const NONE = "-";

/**
 * `qvm-ls` of a live host: one row per bulkhead domain (its qube name from the metadata), sorted
 * by name as qvm-ls sorts. STATE is qvm-ls' word: Running or Halted.
 */
export function lsTable(domains: readonly DomainArgs[]): string {
  const rows = domains
    .map((d) => {
      const m = d.metadata;
      return [m.qube, d.running === true ? "Running" : "Halted", m.class, m.label, m.template ?? NONE, m.netvm ?? NONE];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return formatTable(["NAME", "STATE", "CLASS", "LABEL", "TEMPLATE", "NETVM"], rows) + "\n";
}

function ports(r: FirewallRule): string {
  if (r.dstports === undefined) return NONE;
  return r.dstports.start === r.dstports.end ? String(r.dstports.start) : `${r.dstports.start}-${r.dstports.end}`;
}

/** The rules of one qube as `qvm-firewall <qube> list` prints them, plus the implicit final drop. */
export function firewallTable(layout: ResolvedLayout, qube: string): string {
  const q = layout.qubes.find((x) => x.name === qube);
  if (q === undefined) throw new RangeError(`${JSON.stringify(qube)} is not a qube of ${layout.source}`);
  if (q.netvm === null) return `${qube} has no netvm: it has no network interface, so no rule applies (everything is blocked)\n`;
  const rows = q.firewall.map((r, i) => [
    String(i),
    r.action,
    r.dsthost ?? NONE,
    r.proto ?? NONE,
    ports(r),
    r.specialtarget ?? NONE,
    r.icmptype === undefined ? NONE : String(r.icmptype),
    r.comment ?? NONE,
  ]);
  const table = formatTable(["NO", "ACTION", "HOST", "PROTOCOL", "PORT(S)", "SPECIAL TARGET", "ICMP TYPE", "COMMENT"], rows);
  return `${table}\nthen: drop (the implicit final rule: whatever no rule accepts is dropped)\n`;
}
