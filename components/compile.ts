// The one place the resource graph is made: a layout in, every node out (the
// components and the libvirt resources under them, with their type token,
// logical name, parent, plain inputs, dependencies and the options that
// matter). The Pulumi components (instantiate.ts) create exactly these nodes,
// generically; `bulkhead check`, `plan` and the bench read them as records
// (`compileResources`) without loading the SDK.
//
// What each class's component holds is data (`QUBE_PARTS`, as Qubes'
// default_volume_config), each part's inputs come from the pure builders.
//
// No runtime import of @pulumi/pulumi here, directly or through another module.
import type { QubeClass, ResolvedHost, ResolvedLayout, ResolvedQube, ResolvedTemplate } from "../layout/model";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";
import { clientNetworkArgs, qubeDomainArgs, qubeFilterArgs } from "./qube";
import { qubeSeed, templateSeed } from "./seed";
import { templateDomainArgs, templateFilterArgs } from "./template";
import { keepsData, privateVolumeArgs, rootVolumeArgs, seedVolumeArgs, standaloneRootVolumeArgs } from "./volumes";
import { checkWiring, deployHost, layoutProps, poolArgs } from "./wiring";

import { LAYOUT_TYPE, qubeType, TEMPLATEVM_TYPE as TEMPLATE_TYPE } from "../libvirt/tokens";
export { LAYOUT_TYPE, qubeType, TEMPLATE_TYPE };

/** The field of its component a libvirt resource is (`TemplateVM.root`, `AppVM.private`, …): a part's `role`. */
export type Role = (typeof PARTS)[PartName]["role"];

/** One resource to register: a component or a libvirt resource. Names are unique in a graph and are its ids. */
export interface Node {
  type: string;
  /** Logical (Pulumi) name; parent and dependsOn refer to nodes by it. */
  name: string;
  /** The parent's name; absent for the top node (its parent is whatever the caller gives). */
  parent?: string;
  /** true for libvirt resources, false for components. */
  custom: boolean;
  /** Plain inputs as the resource class receives them (`{}` for qube components). */
  inputs: object;
  /** Names of the nodes it waits for (for a given component: names its caller maps, see instantiate.ts). */
  dependsOn: string[];
  /** A qube's data: the engine forgets the volume and leaves it on the host when it goes. */
  retainOnDelete?: boolean;
  /** Old logical names of a component (`renamed_from`): the engine moves it instead of replacing it. */
  aliases?: string[];
  /** Which field of its component it is. */
  role?: Role;
  /** Registered as one of its component's outputs. */
  output?: boolean;
  /** For a template or qube component: its layout name. */
  of?: string;
}

/** What a template or qube part is built from. */
interface Context {
  host: ResolvedHost;
  source: string;
  template: ResolvedTemplate;
  /** Absent for a template's own parts. */
  qube?: ResolvedQube;
}

interface Part {
  role: string;
  /** Appended to the component's name. */
  suffix: string;
  type: string;
  /** When the part exists (default: always). */
  when?: (c: Context) => boolean;
  inputs: (c: Context) => object;
  /** A volume: waits for the pool. */
  inPool?: true;
  /** Holds the qube's data: retained on delete unless the qube says discard_data. */
  data?: true;
  /** The domain: waits for every part before it and for what the component is given. */
  domain?: true;
  output?: true;
}

const qubeOf = (c: Context): ResolvedQube => c.qube!;

/** Every part a component may have; which ones each class has is `QUBE_PARTS` and `TEMPLATE_PARTS`. */
const PARTS = {
  templateRoot: { role: "root", suffix: "root", type: VOLUME_TYPE, inPool: true, output: true, inputs: (c) => rootVolumeArgs(c.host, c.template.name, c.template) },
  templateSeed: { role: "seed", suffix: "seed", type: VOLUME_TYPE, inPool: true, inputs: (c) => seedVolumeArgs(c.host, c.template.name, templateSeed(c.host, c.template)) },
  templateFilter: { role: "filter", suffix: "fw", type: NWFILTER_TYPE, when: (c) => c.template.netvm !== null, inputs: (c) => templateFilterArgs(c.host, c.template) },
  templateDomain: { role: "domain", suffix: "domain", type: DOMAIN_TYPE, domain: true, output: true, inputs: (c) => templateDomainArgs(c.host, c.source, c.template) },
  /** A NetVM's or ProxyVM's client network. */
  network: { role: "network", suffix: "clients", type: NETWORK_TYPE, output: true, inputs: (c) => clientNetworkArgs(c.host, qubeOf(c)) },
  /** The client network of a qube that provides network by role (`provides_network`). */
  providedNetwork: { role: "network", suffix: "clients", type: NETWORK_TYPE, output: true, when: (c) => qubeOf(c).provides !== undefined, inputs: (c) => clientNetworkArgs(c.host, qubeOf(c)) },
  /** A StandaloneVM's own root, a full copy of its template's image. */
  standaloneRoot: { role: "root", suffix: "root", type: VOLUME_TYPE, inPool: true, data: true, inputs: (c) => standaloneRootVolumeArgs(c.host, qubeOf(c), c.template) },
  private: { role: "private", suffix: "private", type: VOLUME_TYPE, inPool: true, data: true, inputs: (c) => privateVolumeArgs(c.host, qubeOf(c)) },
  seed: { role: "seed", suffix: "seed", type: VOLUME_TYPE, inPool: true, inputs: (c) => seedVolumeArgs(c.host, qubeOf(c).name, qubeSeed(c.host, qubeOf(c))) },
  /** A qube's egress filter, with a netvm. */
  filter: { role: "filter", suffix: "fw", type: NWFILTER_TYPE, when: (c) => qubeOf(c).netvm !== null, inputs: (c) => qubeFilterArgs(c.host, qubeOf(c)) },
  domain: { role: "domain", suffix: "domain", type: DOMAIN_TYPE, domain: true, output: true, inputs: (c) => qubeDomainArgs(c.host, c.source, qubeOf(c), c.template) },
} as const satisfies Record<string, Part>;

type PartName = keyof typeof PARTS;

export const TEMPLATE_PARTS: readonly PartName[] = ["templateRoot", "templateSeed", "templateFilter", "templateDomain"];

/** What each class's component creates, in order. */
export const QUBE_PARTS: Record<QubeClass, readonly PartName[]> = {
  AppVM: ["providedNetwork", "private", "seed", "filter", "domain"],
  NetVM: ["network", "private", "seed", "filter", "domain"],
  ProxyVM: ["network", "private", "seed", "filter", "domain"],
  UsbVM: ["private", "seed", "filter", "domain"],
  DispVM: ["providedNetwork", "seed", "filter", "domain"],
  StandaloneVM: ["providedNetwork", "standaloneRoot", "private", "seed", "filter", "domain"],
};

/** The order in which a domain lists the parts it waits for (every part before it); other roles come after these. */
const WAIT_ORDER: readonly Role[] = ["root", "private", "network", "seed", "filter"];

/** What a component is wired to outside itself, by node name. */
export interface Wiring {
  /** The pool its volumes wait for. */
  pool?: string;
  /** What its domain waits for besides its own parts. */
  upstream: string[];
}

export interface ComponentOptions {
  parent?: string;
  aliases?: string[];
}

/** A TemplateVM component and its parts. */
export function compileTemplate(host: ResolvedHost, source: string, template: ResolvedTemplate, name: string, wiring: Wiring, opts: ComponentOptions = {}): Node[] {
  return compileComponent(TEMPLATE_TYPE, name, template.name, { host, source, template }, TEMPLATE_PARTS, wiring, opts);
}

/** A qube's component and its parts, per its class (`cls`: the component's class, which is the qube's own in a layout). */
export function compileQube(
  host: ResolvedHost,
  source: string,
  qube: ResolvedQube,
  template: ResolvedTemplate,
  name: string,
  wiring: Wiring,
  opts: ComponentOptions = {},
  cls: QubeClass = qube.class,
): Node[] {
  return compileComponent(qubeType(cls), name, qube.name, { host, source, template, qube }, QUBE_PARTS[cls], wiring, opts);
}

function compileComponent(type: string, name: string, of: string, c: Context, parts: readonly PartName[], wiring: Wiring, opts: ComponentOptions): Node[] {
  const component: Node = { type, name, custom: false, inputs: {}, dependsOn: [], of };
  if (opts.parent !== undefined) component.parent = opts.parent;
  if (opts.aliases !== undefined && opts.aliases.length > 0) component.aliases = opts.aliases;
  const nodes: Node[] = [component];
  for (const key of parts) {
    const part: Part = PARTS[key];
    if (part.when !== undefined && !part.when(c)) continue;
    const node: Node = { type: part.type, name: `${name}-${part.suffix}`, parent: name, custom: true, inputs: part.inputs(c), dependsOn: [], role: part.role as Role };
    if (part.inPool && wiring.pool !== undefined) node.dependsOn = [wiring.pool];
    if (part.domain) node.dependsOn = [...waitOrder(nodes.slice(1)), ...wiring.upstream];
    if (part.data) node.retainOnDelete = keepsData(c.qube!);
    if (part.output) node.output = true;
    nodes.push(node);
  }
  return nodes;
}

function waitOrder(parts: Node[]): string[] {
  const rank = (p: Node) => {
    const i = WAIT_ORDER.indexOf(p.role!);
    return i === -1 ? WAIT_ORDER.length : i;
  };
  return [...parts].sort((a, b) => rank(a) - rank(b)).map((p) => p.name);
}

export interface CompileOptions {
  /** libvirt URI overriding `host.uri`. */
  uri?: string;
}

/**
 * Every node of a layout: the Layout component `name`, its pool, the
 * templates, then the qubes, in registration order. Throws, before anything is
 * made, for a layout the components cannot wire or a seed that cannot render.
 */
export function compileLayout(layout: ResolvedLayout, opts: CompileOptions = {}, name: string = SIM_LAYOUT): Node[] {
  const host = deployHost(layout, opts.uri);
  checkWiring(layout);
  const nodes: Node[] = [{ type: LAYOUT_TYPE, name, custom: false, inputs: layoutProps(layout), dependsOn: [] }];
  const pool: Node = { type: POOL_TYPE, name: `${name}-pool`, parent: name, custom: true, inputs: poolArgs(host), dependsOn: [] };
  nodes.push(pool);
  const parts = new Map<string, Node>();
  const partOf = (of: string, role: Role): string => {
    const part = parts.get(`${of}/${role}`);
    if (part === undefined) throw new Error(`${of} has no ${role}`);
    return part.name;
  };
  const add = (made: Node[]) => {
    const of = made[0].of!;
    for (const n of made) if (n.role !== undefined) parts.set(`${of}/${n.role}`, n);
    nodes.push(...made);
  };
  const at = { parent: name };
  for (const t of layout.templates) add(compileTemplate(host, layout.source, t, `${name}-${t.name}`, { pool: pool.name, upstream: [] }, at));
  const templates = new Map(layout.templates.map((t) => [t.name, t]));
  for (const q of layout.qubes) {
    // A renamed qube's component (and with it every child, whose names start
    // with the component's) is aliased to its old names.
    const aliases = (q.renamedFrom ?? []).map((old) => `${name}-${old}`);
    add(compileQube(host, layout.source, q, templates.get(q.rootTemplate)!, `${name}-${q.name}`, { pool: pool.name, upstream: upstreamOf(q, partOf) }, { ...at, aliases }));
  }
  // A template may name a netvm declared later: its domain waits for that network too.
  for (const t of layout.templates) if (t.netvm !== null) parts.get(`${t.name}/domain`)!.dependsOn.push(partOf(t.netvm, "network"));
  return nodes;
}

/** What a qube's domain waits for elsewhere: the template's root, the netvm's client network, a DispVM template's private volume. */
function upstreamOf(q: ResolvedQube, partOf: (of: string, role: Role) => string): string[] {
  const deps: string[] = [];
  if (q.class !== "StandaloneVM") deps.push(partOf(q.rootTemplate, "root"));
  if (q.netvm !== null) deps.push(partOf(q.netvm, "network"));
  if (q.class === "DispVM") deps.push(partOf(q.template, "private"));
  return deps;
}

// ---- the nodes as the engine records them, for check, plan and the bench ----

export interface SimulatedResource {
  /** Type token, e.g. `bulkhead:libvirt:Domain` or `bulkhead:qubes:AppVM`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  urn: string;
  /** URN of the parent; absent for the stack itself. */
  parent?: string;
  /** Resolved inputs as the provider would receive them (`{}` for components). */
  inputs: Record<string, unknown>;
  /** true for libvirt resources, false for components and the stack. */
  custom: boolean;
  /** URNs it waits for (`dependsOn`, and resources whose outputs its inputs use), sorted. */
  dependencies: string[];
}

export type SimulateOptions = CompileOptions;

/** Mocked stack identity; it appears in every URN. */
export const SIM_PROJECT = "bulkhead";
export const SIM_STACK = "simulate";
/** Name of the Layout component, the prefix of every resource name below it. */
export const SIM_LAYOUT = "bulkhead";

const STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * Every resource the program registers for the layout, as a run under Pulumi's
 * mocks records it (components/simulate.ts; test/components/compile.test.ts
 * holds the two equal): the stack, then the nodes, sorted by URN.
 */
export function compileResources(layout: ResolvedLayout, opts: CompileOptions = {}): SimulatedResource[] {
  return records(compileLayout(layout, opts, SIM_LAYOUT));
}

/** The records of a graph whose top node is a child of the stack. */
export function records(nodes: Node[]): SimulatedResource[] {
  const stack: SimulatedResource = { type: STACK_TYPE, name: `${SIM_PROJECT}-${SIM_STACK}`, urn: "", inputs: {}, custom: false, dependencies: [] };
  stack.urn = urn(stack.type, stack.name, undefined);
  const byName = new Map<string, SimulatedResource>();
  const out: SimulatedResource[] = [stack];
  for (const node of nodes) {
    const parent = node.parent === undefined ? stack : byName.get(node.parent)!;
    // Key order as simulate.ts builds its records, for output that serialises the same.
    const record: SimulatedResource = { type: node.type, name: node.name, urn: urn(node.type, node.name, parent), inputs: wire(node.inputs) as Record<string, unknown>, custom: node.custom, dependencies: [] };
    record.parent = parent.urn;
    byName.set(node.name, record);
    out.push(record);
  }
  for (const node of nodes) byName.get(node.name)!.dependencies = dependencyUrns(node.dependsOn, byName);
  return out.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

/** The URNs of `names`, without repeats, sorted (most nodes wait for none or one). */
function dependencyUrns(names: readonly string[], byName: ReadonlyMap<string, SimulatedResource>): string[] {
  if (names.length === 0) return [];
  if (names.length === 1) return [byName.get(names[0])!.urn];
  return [...new Set(names.map((d) => byName.get(d)!.urn))].sort();
}

/** The mock monitor's URN: it qualifies a type by its parent's type only (not the whole chain, as the engine does). */
function urn(type: string, name: string, parent: SimulatedResource | undefined): string {
  const qualified = parent === undefined ? type : `${parent.type}$${type}`;
  return `urn:pulumi:${SIM_STACK}::${SIM_PROJECT}::${qualified}::${name}`;
}

/**
 * A value as it comes back through the SDK's serialisation and the protobuf
 * Struct the monitor receives: keys holding undefined are dropped, undefined
 * array elements become null, functions vanish, and object keys come back
 * sorted (Struct fields are a map).
 */
function wire(value: unknown): unknown {
  if (typeof value === "function") return undefined;
  if (Array.isArray(value)) return value.map(wireItem);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of sortedKeys(value)) {
    const v = wire((value as Record<string, unknown>)[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function wireItem(item: unknown): unknown {
  const w = wire(item);
  return w === undefined ? null : w;
}

/**
 * `Object.keys(value).sort()`, by insertion: an input object has a handful of keys, and the
 * generic sort (which compares the strings' UTF-16 code units, as `<` does) was most of
 * wire's time over 30,000 resources.
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
