// The baseline's call plan: for each libvirt resource of a simulated layout,
// the define/create calls bulkhead's provider makes to bring it into being,
// without the read-backs (domuuid, net-info, vol-path, dumpxml) that only the
// provider needs. Pure: XML comes from the project's renderers, sizes of
// files and seed images from the caller, so tests can pin every argument.
import type { DomainArgs, NetworkArgs, NoCloudSeed, NwFilterArgs, PoolArgs, VolumeArgs } from "../libvirt/types";
import { renderDomainXml, renderNetworkXml, renderNwFilterXml, renderPoolXml, renderVolumeXml } from "../libvirt/xml";
import type { SimulatedResource } from "../components/compile";
import { domainSchema, networkSchema, nwfilterSchema, poolSchema, volumeSchema } from "../provider/schemas";
import { LIBVIRT_TYPE_PREFIX } from "../libvirt/tokens";

/** One virsh run: `virsh -c <uri> <args…>`, plus what the executor must supply as `--file`. */
export interface PlannedCall {
  args: string[];
  /** An XML document the executor writes to a temp file and passes as `--file`. */
  xml?: string;
  /** A NoCloud seed the executor builds into an ISO and passes as `--file`. */
  seed?: NoCloudSeed;
}

export interface PlannedStep {
  urn: string;
  type: string;
  /** The libvirt object's name (volumes: `pool/name`). */
  object: string;
  uri: string;
  /** URNs of steps that must finish first. */
  after: string[];
  create: PlannedCall[];
  /** Calls that remove the object again (not timed). */
  remove: PlannedCall[];
}

export interface PlanFacts {
  /** Size in bytes of an image file a volume is filled from. */
  fileSize(path: string): number;
  /** Size in bytes of the ISO a seed becomes. */
  seedSize(seed: NoCloudSeed): number;
}

const LIBVIRT = LIBVIRT_TYPE_PREFIX;

/** The calls that create and remove each libvirt resource, in dependency order. */
export function planBaseline(resources: readonly SimulatedResource[], facts: PlanFacts): PlannedStep[] {
  const custom = resources.filter((r) => r.custom && r.type.startsWith(LIBVIRT));
  const urns = new Set(custom.map((r) => r.urn));
  const steps = custom.map((r) => ({ urn: r.urn, type: r.type, ...callsFor(r, facts), after: expandDeps(r.dependencies, custom, urns) }));
  return topoSort(steps);
}

/** A dependency on a component stands for every libvirt resource under it. */
function expandDeps(deps: readonly string[], custom: readonly SimulatedResource[], urns: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const d of deps) {
    if (urns.has(d)) out.add(d);
    // Custom resources parent only to components, so the parent link is enough.
    else for (const r of custom) if (r.parent === d) out.add(r.urn);
  }
  return [...out].sort();
}

function topoSort<T extends { urn: string; after: string[] }>(steps: T[]): T[] {
  const byUrn = new Map(steps.map((s) => [s.urn, s]));
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (s: T, path: Set<string>) => {
    if (done.has(s.urn)) return;
    if (path.has(s.urn)) throw new Error(`dependency cycle through ${s.urn}`);
    path.add(s.urn);
    for (const a of s.after) {
      const dep = byUrn.get(a);
      if (dep) visit(dep, path);
    }
    path.delete(s.urn);
    done.add(s.urn);
    out.push(s);
  };
  for (const s of steps) visit(s, new Set());
  return out;
}

function callsFor(r: SimulatedResource, facts: PlanFacts): { object: string; uri: string; create: PlannedCall[]; remove: PlannedCall[] } {
  switch (r.type) {
    case `${LIBVIRT}Pool`: {
      const a = poolSchema.parse(r.inputs) as PoolArgs;
      const create: PlannedCall[] = [{ args: ["pool-define"], xml: renderPoolXml(a) }, { args: ["pool-build", "--pool", a.name] }, { args: ["pool-start", "--pool", a.name] }];
      if (a.autostart) create.push({ args: ["pool-autostart", "--pool", a.name] });
      return { object: a.name, uri: a.uri, create, remove: [{ args: ["pool-destroy", "--pool", a.name] }, { args: ["pool-undefine", "--pool", a.name] }] };
    }
    case `${LIBVIRT}Volume`: {
      const a = volumeSchema.parse(r.inputs) as VolumeArgs;
      // The same initial capacity as the provider: room for a raw import or the seed image.
      let initial = a.capacity;
      const file = a.source !== undefined && "file" in a.source ? a.source.file : undefined;
      if (file !== undefined && a.format === "raw") initial = Math.max(initial, facts.fileSize(file));
      if (a.seed) initial = Math.max(initial, facts.seedSize(a.seed));
      const { uri: _u, pool: _p, source: _s, seed: _d, imageDirs: _i, ...spec } = a;
      const create: PlannedCall[] = [{ args: ["vol-create", "--pool", a.pool], xml: renderVolumeXml({ ...spec, capacity: initial }) }];
      const upload = ["vol-upload", "--pool", a.pool, "--vol", a.name];
      if (file !== undefined) create.push({ args: [...upload, "--file", file] });
      if (a.seed) create.push({ args: upload, seed: a.seed });
      return { object: `${a.pool}/${a.name}`, uri: a.uri, create, remove: [{ args: ["vol-delete", "--pool", a.pool, "--vol", a.name] }] };
    }
    case `${LIBVIRT}Network`: {
      const a = networkSchema.parse(r.inputs) as NetworkArgs;
      const create: PlannedCall[] = [{ args: ["net-define"], xml: renderNetworkXml(a) }, { args: ["net-start", "--network", a.name] }];
      if (a.autostart) create.push({ args: ["net-autostart", "--network", a.name] });
      return { object: a.name, uri: a.uri, create, remove: [{ args: ["net-destroy", "--network", a.name] }, { args: ["net-undefine", "--network", a.name] }] };
    }
    case `${LIBVIRT}NwFilter`: {
      const a = nwfilterSchema.parse(r.inputs) as NwFilterArgs;
      return { object: a.name, uri: a.uri, create: [{ args: ["nwfilter-define"], xml: renderNwFilterXml(a) }], remove: [{ args: ["nwfilter-undefine", "--nwfilter", a.name] }] };
    }
    case `${LIBVIRT}Domain`: {
      const a = domainSchema.parse(r.inputs) as DomainArgs;
      const create: PlannedCall[] = [{ args: ["define"], xml: renderDomainXml(a) }];
      if (a.autostart) create.push({ args: ["autostart", "--domain", a.name] });
      if (a.running) create.push({ args: ["start", "--domain", a.name] });
      const remove: PlannedCall[] = a.running ? [{ args: ["destroy", "--domain", a.name] }] : [];
      remove.push({ args: ["undefine", "--managed-save", "--snapshots-metadata", "--domain", a.name] });
      return { object: a.name, uri: a.uri, create, remove };
    }
    default:
      throw new Error(`baseline: no call plan for ${r.type}`);
  }
}

/** Counts of calls by virsh command, e.g. `{ define: 10, "vol-create": 21 }`, sorted by command. */
export function callCounts(steps: readonly PlannedStep[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of steps) for (const c of s.create) counts[c.args[0]!] = (counts[c.args[0]!] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1)));
}
