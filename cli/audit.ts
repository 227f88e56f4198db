// `bulkhead audit`: the policy pack applied to what a live libvirt host holds,
// read with `virsh dumpxml`, so a hand edit that breaks isolation is reported
// without the layout or the Pulumi state. Reading (I/O) and judging (pure,
// `liveHostFromXml` + `auditReport`) are kept apart so the judging is unit-tested
// from XML strings.
import { printable } from "../layout/text";
import type { DomainArgs, NetworkArgs, NwFilterArgs } from "../libvirt/types";
import { BULKHEAD_XMLNS, parseDomainXml, type ParsedDomain } from "../libvirt/xml/domain";
import { parseNetworkXml } from "../libvirt/xml/network";
import { parseNwFilterXml } from "../libvirt/xml/nwfilter";
import { child, children, parseXml, requireAttr, text } from "../libvirt/xml/xml";
import type { EvaluateOptions, Violation } from "../policies/evaluate";
import type { LiveHost } from "../policies/model";
import { isNotFound, virsh, VirshError } from "../libvirt/virsh";

export const DEFAULT_URI = "qemu:///system";

/** Raw `dumpxml` output of one host, plus the lifecycle facts the XML does not hold. */
export interface HostXml {
  uri: string;
  /** `virsh dumpxml --inactive` of domains (any, bulkhead's or not). */
  domains: string[];
  /** Names of domains that start with the host (`virsh list --all --autostart`). */
  autostart: readonly string[];
  /** Names of running domains (`virsh list`). */
  running: readonly string[];
  /** `virsh net-dumpxml --inactive` of networks. */
  networks: string[];
  /** `virsh nwfilter-dumpxml` of filters. */
  filters: string[];
}

export interface Scope {
  /** Only domains whose libvirt name starts with this (a layout's `host.prefix`). */
  prefix?: string;
}

/** The host cannot be reached or read; exit 2 with this one line. */
export class AuditError extends Error {}

/** Networks the domains' interfaces attach to, sorted. */
export function networksUsed(domains: readonly Pick<DomainArgs, "devices">[]): string[] {
  const names = domains.flatMap((d) =>
    d.devices.interfaces.flatMap((i) => (i.type === "network" && i.source.network !== undefined ? [i.source.network] : [])),
  );
  return [...new Set(names)].sort();
}

/** Filters the domains' interfaces reference directly, sorted. */
export function filtersUsed(domains: readonly Pick<DomainArgs, "devices">[]): string[] {
  const names = domains.flatMap((d) => d.devices.interfaces.flatMap((i) => (i.filterref ? [i.filterref.filter] : [])));
  return [...new Set(names)].sort();
}

/**
 * A filter as the rules need it. libvirt's built-in filters (allow-arp,
 * no-ip-spoofing, …) use protocols bulkhead never writes, which the strict
 * parser rejects; for those only the name and the filterrefs are kept, which
 * is all the rules read of an included filter. A qube's own filter read this
 * way has no rules, so egress-filtered reports it (fails closed).
 */
export function readFilter(xml: string): Omit<NwFilterArgs, "uri"> {
  try {
    const { uuid: _uuid, ...spec } = parseNwFilterXml(xml);
    return spec;
  } catch {
    const f = parseXml(xml, "filter", ["filter.filterref", "filter.filterref.parameter"]);
    const filterrefs = children(f, "filterref").map((ref) => {
      const params = children(ref, "parameter");
      const filter = requireAttr(ref, "filter", "filterref");
      if (params.length === 0) return { filter };
      return { filter, parameters: Object.fromEntries(params.map((p) => [requireAttr(p, "name", "parameter"), requireAttr(p, "value", "parameter")])) };
    });
    return { name: requireAttr(f, "name", "filter"), filterrefs, rules: [] };
  }
}

/** The name of a domain whose metadata is bulkhead's, read loosely (for XML the strict parser rejects). */
function declaresBulkhead(xml: string): string | undefined {
  const dom = parseXml(xml, "domain", []);
  const meta = child(dom, "metadata") ?? {};
  const ours = Object.entries(meta).some(
    ([key, value]) =>
      typeof value === "object" &&
      !Array.isArray(value) &&
      Object.entries(value).some(([k, v]) => k.startsWith("@_xmlns") && v === BULKHEAD_XMLNS) &&
      !key.startsWith("@_"),
  );
  return ours ? text(dom, "name") : undefined;
}

function inScope(name: string, scope: Scope): boolean {
  return scope.prefix === undefined || name.startsWith(scope.prefix);
}

/** The bulkhead domains among `xml` (those with bulkhead metadata, in scope), sorted by name. */
export function bulkheadDomains(host: Pick<HostXml, "uri" | "domains" | "autostart" | "running">, scope: Scope = {}): DomainArgs[] {
  const autostart = new Set(host.autostart);
  const running = new Set(host.running);
  const out: DomainArgs[] = [];
  for (const xml of host.domains) {
    let parsed: ParsedDomain;
    try {
      parsed = parseDomainXml(xml);
    } catch (e) {
      // Other software's domains may use XML bulkhead never writes; only ours must be readable.
      const name = declaresBulkhead(xml);
      if (name === undefined || !inScope(name, scope)) continue;
      throw new Error(`domain ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { uuid: _uuid, metadata, ...spec } = parsed;
    if (metadata === undefined || !inScope(spec.name, scope)) continue;
    out.push({ ...spec, metadata, uri: host.uri, autostart: autostart.has(spec.name), running: running.has(spec.name) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Pure: the LiveHost the policies judge. Domains: those carrying bulkhead
 * metadata (within the prefix); networks: those they attach to; filters: those
 * their interfaces reference and, transitively, the filters those include.
 * Anything else in `host` is ignored, so callers may pass more than needed.
 */
export function liveHostFromXml(host: HostXml, scope: Scope = {}): LiveHost {
  const domains = bulkheadDomains(host, scope);
  const used = new Set(networksUsed(domains));
  const networks: NetworkArgs[] = host.networks
    .map((xml) => {
      const { uuid: _uuid, ...spec } = parseNetworkXml(xml);
      return { ...spec, uri: host.uri };
    })
    .filter((n) => used.has(n.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(host.filters.map((xml) => readFilter(xml)).map((f) => [f.name, f]));
  const wanted = new Set<string>();
  const queue = filtersUsed(domains);
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const f = byName.get(name);
    if (f === undefined || wanted.has(name)) continue;
    wanted.add(name);
    for (const ref of f.filterrefs ?? []) queue.push(ref.filter);
  }
  const filters: NwFilterArgs[] = [...wanted].sort().map((name) => ({ ...(byName.get(name) as Omit<NwFilterArgs, "uri">), uri: host.uri }));
  return { domains, networks, filters, pools: [], volumes: [] };
}

export interface AuditReport {
  uri: string;
  ok: boolean;
  violations: Violation[];
  summary: { domains: number; networks: number; filters: number; mandatory: number; advisory: number };
}

export function auditReport(uri: string, host: LiveHost, violations: Violation[]): AuditReport {
  const count = (level: Violation["level"]) => violations.filter((v) => v.level === level).length;
  const mandatory = count("mandatory");
  return {
    uri,
    ok: mandatory === 0,
    violations,
    summary: {
      domains: host.domains.length,
      networks: host.networks.length,
      filters: host.filters.length,
      mandatory,
      advisory: count("advisory"),
    },
  };
}

/** 1: a mandatory violation; 0: none (advisories do not fail). 2 (unreadable host) is an AuditError. */
export function auditExitCode(report: AuditReport): 0 | 1 {
  return report.summary.mandatory > 0 ? 1 : 0;
}

export function formatAuditText(report: AuditReport): string {
  // A live host's names are anyone's: echoed through the one escape.
  const lines = report.violations.map((v) => `${v.level} ${printable(v.policy)} (${printable(v.qube)}): ${printable(v.message)}`);
  const s = report.summary;
  lines.push(
    `${printable(report.uri)}: ${report.ok ? "ok" : "FAILED"}: ${s.domains} bulkhead domains, ${s.networks} networks, ` +
      `${s.filters} nwfilters, ${s.mandatory} mandatory and ${s.advisory} advisory violations`,
  );
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------ reading a live host

/** How many virsh processes run at once: enough to overlap round trips, few enough for a small host. */
const PARALLEL = 4;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const lines = (s: string): string[] => s.split("\n").map((l) => l.trim()).filter((l) => l !== "");

/** One object's XML, or undefined when it vanished between listing and reading (a concurrent delete). */
async function dump(uri: string, args: string[]): Promise<string | undefined> {
  try {
    return await virsh(uri, args);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

const present = (xs: (string | undefined)[]): string[] => xs.filter((x): x is string => x !== undefined);

/** Reads what the audit needs from `uri`: every domain, then only the networks and filters they use. */
export async function readHost(uri: string, scope: Scope = {}): Promise<HostXml> {
  let all: string[];
  try {
    all = lines(await virsh(uri, ["list", "--all", "--name"], { timeoutMs: 30_000 }));
  } catch (e) {
    // virsh says "error: failed to connect to the hypervisor" and the cause on the next line.
    const why = e instanceof VirshError ? lines(e.stderr).map((l) => l.replace(/^error: /, "")).join(": ") : String(e);
    throw new AuditError(
      `cannot reach libvirt at ${uri}: ${why || "virsh failed"}; check that libvirtd runs there and that you may ` +
        `connect (root or group libvirt), or pass --uri`,
    );
  }
  const [autostart, running] = await Promise.all([
    virsh(uri, ["list", "--all", "--autostart", "--name"]).then(lines),
    virsh(uri, ["list", "--name"]).then(lines),
  ]);
  const candidates = all.filter((n) => inScope(n, scope));
  const domains = present(await mapLimit(candidates, PARALLEL, (n) => dump(uri, ["dumpxml", "--inactive", "--domain", n])));
  const mine = bulkheadDomains({ uri, domains, autostart, running }, scope);
  const networks = present(
    await mapLimit(networksUsed(mine), PARALLEL, (n) => dump(uri, ["net-dumpxml", "--inactive", "--network", n])),
  );
  // Filters include others; read level by level until no new name turns up.
  const filters: string[] = [];
  const seen = new Set<string>();
  let level = filtersUsed(mine);
  while (level.length > 0) {
    level.forEach((n) => seen.add(n));
    const found = present(await mapLimit(level, PARALLEL, (n) => dump(uri, ["nwfilter-dumpxml", "--nwfilter", n])));
    filters.push(...found);
    const refs = found.flatMap((xml) => (readFilter(xml).filterrefs ?? []).map((r) => r.filter));
    level = [...new Set(refs)].filter((n) => !seen.has(n)).sort();
  }
  return { uri, domains, autostart, running, networks, filters };
}

export interface AuditOptions extends Scope {
  uri: string;
  /** The host's memory for qubes (memory-budget's `hostMemoryMiB`); without it that policy checks nothing. */
  hostMemoryMiB?: number;
  /** Levels and configuration from `--policy-pack-config` (policies/config.ts). */
  evaluation?: Omit<EvaluateOptions, "hostMemoryMiB">;
}

export async function audit(opts: AuditOptions): Promise<AuditReport> {
  let host: LiveHost;
  try {
    host = liveHostFromXml(await readHost(opts.uri, opts), opts);
  } catch (e) {
    if (e instanceof AuditError) throw e;
    // A virsh failure after connecting, or XML of a bulkhead domain the parser cannot read.
    const why = e instanceof VirshError ? e.message : e instanceof Error ? e.message : String(e);
    throw new AuditError(`cannot read the bulkhead objects on ${opts.uri}: ${why}`);
  }
  // Loaded here, as in check: @pulumi/policy takes a while to import.
  const [{ evaluate }, { fromLiveHost }] = await Promise.all([
    import("../policies/evaluate.js"),
    import("../policies/model.js"),
  ]);
  return auditReport(opts.uri, host, evaluate(fromLiveHost(host), { ...opts.evaluation, hostMemoryMiB: opts.hostMemoryMiB }));
}

/** Said (exit 2) when nothing on the host is bulkhead's: an audit of nothing proves nothing. */
export function noDomains(uri: string, prefix?: string): string {
  const scope = prefix === undefined ? "" : ` whose name starts with ${JSON.stringify(prefix)}`;
  return `no bulkhead domains${scope} on ${uri}, so there is nothing to audit; check --uri and --prefix (a layout's host.prefix)`;
}

/** The command: prints the report (or one error line) and returns the exit status. */
export async function runAudit(opts: AuditOptions & { json?: boolean }): Promise<number> {
  let report: AuditReport;
  try {
    report = await audit(opts);
  } catch (e) {
    if (!(e instanceof AuditError)) throw e;
    process.stderr.write(`bulkhead audit: ${printable(e.message.split("\n")[0])}\n`);
    return 2;
  }
  if (report.summary.domains === 0) {
    process.stderr.write(`bulkhead audit: ${noDomains(opts.uri, opts.prefix)}\n`);
    return 2;
  }
  process.stdout.write(opts.json === true ? JSON.stringify(report, null, 2) + "\n" : formatAuditText(report));
  return auditExitCode(report);
}

/** `bulkhead ls`: the bulkhead qubes of a live host, qvm-ls style. */
export async function runLs(opts: { uri: string } & Scope): Promise<number> {
  let domains: DomainArgs[];
  try {
    domains = bulkheadDomains(await readHost(opts.uri, opts), opts);
  } catch (e) {
    if (!(e instanceof AuditError)) throw e;
    process.stderr.write(`bulkhead ls: ${e.message.split("\n")[0]}\n`);
    return 2;
  }
  if (domains.length === 0) {
    process.stderr.write(`bulkhead ls: ${noDomains(opts.uri, opts.prefix).replace("audit", "list")}\n`);
    return 2;
  }
  const { lsTable } = await import("./listing.js");
  process.stdout.write(lsTable(domains));
  return 0;
}
