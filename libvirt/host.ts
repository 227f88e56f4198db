// The live-host reader: what a libvirt host holds of bulkhead's, read with `virsh`
// (list, then dumpxml of the domains and only the networks and filters they use) and
// parsed into the resources' own argument shapes. `bulkhead audit` and `ls`, prove and
// the lab read a host through here. Reading (I/O: `readHost`) and parsing (pure:
// `liveHostFromXml`, `bulkheadDomains`) are kept apart so parsing is unit-tested from
// XML strings.
import type { DomainArgs, NetworkArgs, NwFilterArgs, PoolArgs, VolumeArgs } from "./types";
import { BULKHEAD_XMLNS, parseDomainXml, type ParsedDomain } from "./xml/domain";
import { parseNetworkXml } from "./xml/network";
import { parseNwFilterXml } from "./xml/nwfilter";
import { child, children, parseXml, requireAttr, text } from "./xml/xml";
import { virsh, virshIfExists, VirshError } from "./virsh";

export const DEFAULT_URI = "qemu:///system";

/**
 * A live host parsed from `virsh dumpxml` (and net-, nwfilter-, pool-, vol-dumpxml) into the
 * resources' own argument shapes; the seam the policies judge (`fromLiveHost` in policies/model.ts).
 * Objects are keyed by libvirt name.
 */
export interface LiveHost {
  domains: DomainArgs[];
  networks: NetworkArgs[];
  filters: NwFilterArgs[];
  pools: PoolArgs[];
  volumes: (VolumeArgs & { path?: string })[];
}

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

export function inScope(name: string, scope: Scope): boolean {
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

/** The host cannot be reached (no libvirtd, no permission, a wrong URI). */
export class HostUnreachable extends Error {}

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
const dump = virshIfExists;

const present = (xs: (string | undefined)[]): string[] => xs.filter((x): x is string => x !== undefined);

/** Reads what the audit needs from `uri`: every domain, then only the networks and filters they use. */
export async function readHost(uri: string, scope: Scope = {}): Promise<HostXml> {
  let all: string[];
  try {
    all = lines(await virsh(uri, ["list", "--all", "--name"], { timeoutMs: 30_000 }));
  } catch (e) {
    // virsh says "error: failed to connect to the hypervisor" and the cause on the next line.
    const why = e instanceof VirshError ? lines(e.stderr).map((l) => l.replace(/^error: /, "")).join(": ") : String(e);
    throw new HostUnreachable(
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

/** A domain's persistent definition (`dumpxml --inactive`); fails when there is none (see unlessNotFound). */
export function domainXml(uri: string, name: string): Promise<string> {
  return virsh(uri, ["dumpxml", "--inactive", "--domain", name]);
}

/** The names of every domain (`list --all`), network (`net-list --all`) or pool (`pool-list --all`) on `uri`. */
export async function listNames(uri: string, kind: "domain" | "network" | "pool"): Promise<string[]> {
  const args = { domain: ["list", "--all", "--name"], network: ["net-list", "--all", "--name"], pool: ["pool-list", "--all", "--name"] }[kind];
  return lines(await virsh(uri, args));
}
