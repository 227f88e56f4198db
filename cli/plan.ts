// `bulkhead plan`: what a layout declares (qubes with their resolved settings)
// and the libvirt objects it would create, as text tables.
import { compileResources, type SimulatedResource } from "../components/compile";
import { reportInvalid } from "./check";
import { load } from "./command";
import type { FirewallRule, ResolvedLayout } from "../layout/model";
import { printable } from "../layout/text";
import { formatTable } from "../render/table";
import { DOMAIN_TYPE, isLibvirtType, libvirtKind } from "../libvirt/tokens";

const NONE = "-";

/** `until 2026-12-04T10:00:00Z`: when a rule stops applying (the preview's nwfilter comment says it too). */
function until(r: FirewallRule): string {
  return r.expire === undefined ? "" : ` until ${new Date(r.expire * 1000).toISOString().replace(/\.000Z$/, "Z")}`;
}

/** `dns, tcp/80, drop rest`: the rules in order (each with its expiry), then what happens to the rest. */
export function firewallSummary(rules: FirewallRule[]): string {
  if (rules.length === 0) return "drop all";
  const parts = rules.map((r) => (r.action === "drop" ? `drop ${ruleTarget(r)}` : ruleTarget(r)) + until(r));
  const last = rules[rules.length - 1];
  if (ruleTarget(last) === "all" && last.expire === undefined) {
    // A catch-all rule ends the list: nothing after it can match.
    if (rules.length === 1) return `${last.action} all`;
    parts[parts.length - 1] = `${last.action} rest`;
    return parts.join(", ");
  }
  return [...parts, "drop rest"].join(", ");
}

function ruleTarget(r: FirewallRule): string {
  if (r.specialtarget === "dns") return r.proto === undefined ? "dns" : `dns (${r.proto} only)`;
  let what = r.proto ?? "";
  if (r.dstports !== undefined) {
    const { start, end } = r.dstports;
    what += `/${start === end ? start : `${start}-${end}`}`;
  }
  if (r.icmptype !== undefined) what += ` type ${r.icmptype}`;
  if (r.dsthost !== undefined) what = what === "" ? r.dsthost : `${what} to ${r.dsthost}`;
  return what === "" ? "all" : what;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function memory(mib: number, maxmem?: number): string {
  return maxmem === undefined ? `${mib} MiB` : `${mib}-${maxmem} MiB`;
}

/** One row per template and qube, templates first, qubes in the layout's dependency order. */
export function qubeRows(layout: ResolvedLayout): string[][] {
  const templates = layout.templates.map((t) => [
    t.name,
    "TemplateVM",
    NONE,
    t.netvm ?? NONE,
    t.label,
    memory(t.memory),
    NONE,
    NONE,
    NONE,
  ]);
  const qubes = layout.qubes.map((q) => [
    q.name,
    q.class,
    q.template,
    q.netvm ?? NONE,
    q.label,
    memory(q.memory, q.maxmem),
    q.addressing?.ip ?? NONE,
    q.provides?.subnet ?? NONE,
    q.netvm === null ? NONE : firewallSummary(q.firewall),
  ]);
  return [...templates, ...qubes];
}

/** The order libvirt objects are made in (a domain needs its volumes, networks and filters). */
const KIND_ORDER = ["Pool", "Network", "NwFilter", "Volume", "Domain"];

/** Kind, libvirt name and owning qube of every libvirt resource. */
export function libvirtRows(resources: SimulatedResource[]): string[][] {
  // A qube's component owns its domain and everything else made for that qube.
  const qubeOfParent = new Map<string, string>();
  for (const r of resources) {
    const meta = r.inputs.metadata as { qube?: unknown } | undefined;
    if (r.type === DOMAIN_TYPE && r.parent !== undefined && typeof meta?.qube === "string") {
      qubeOfParent.set(r.parent, meta.qube);
    }
  }
  const rows = resources
    .filter((r) => r.custom && isLibvirtType(r.type))
    .map((r) => [
      libvirtKind(r.type),
      String(r.inputs.name ?? r.name),
      (r.parent !== undefined ? qubeOfParent.get(r.parent) : undefined) ?? NONE,
    ]);
  const rank = (kind: string) => {
    const i = KIND_ORDER.indexOf(kind);
    return i === -1 ? KIND_ORDER.length : i;
  };
  return rows.sort((a, b) => rank(a[0]) - rank(b[0]) || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

export function formatPlan(layout: ResolvedLayout, resources: SimulatedResource[]): string {
  const qubes = qubeRows(layout);
  const objects = libvirtRows(resources);
  return [
    `Layout ${printable(layout.source)} on ${printable(layout.host.uri)} (${layout.host.domainType}, pool ${layout.host.pool})`,
    "",
    `Qubes (${plural(layout.templates.length, "template")}, ${plural(layout.qubes.length, "qube")}):`,
    formatTable(["NAME", "CLASS", "TEMPLATE", "NETVM", "LABEL", "MEMORY", "ADDRESS", "SERVES", "FIREWALL"], qubes),
    "",
    `libvirt objects to create (${objects.length}):`,
    formatTable(["KIND", "NAME", "QUBE"], objects),
    "",
  ].join("\n");
}

/** `bulkhead plan --json`: the resolved layout and every libvirt resource (type, name, owning qube, inputs). */
export function planJson(layout: ResolvedLayout, resources: SimulatedResource[]): object {
  const owner = new Map(libvirtRows(resources).map((r) => [`${r[0]}\u0000${r[1]}`, r[2]]));
  return {
    layout: layout.source,
    host: layout.host,
    templates: layout.templates,
    qubes: layout.qubes,
    resources: resources
      .filter((r) => r.custom && isLibvirtType(r.type))
      .map((r) => {
        const kind = libvirtKind(r.type);
        const name = String(r.inputs.name ?? r.name);
        const qube = owner.get(`${kind}\u0000${name}`);
        return { type: r.type, name, qube: qube === NONE || qube === undefined ? null : qube, inputs: r.inputs };
      }),
  };
}

/** `bulkhead plan <layout> [--json]`. */
export async function runPlan(path: string, opts: { json?: boolean }): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  const resources = compileResources(loaded.layout);
  process.stdout.write(opts.json === true ? JSON.stringify(planJson(loaded.layout, resources), null, 2) + "\n" : formatPlan(loaded.layout, resources));
  return 0;
}
