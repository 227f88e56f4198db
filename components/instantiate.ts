// The generic instantiation of compile.ts's nodes: one loop that makes each
// node's resource (a libvirt resource, or a component through its class), its
// parent and dependsOn mapped by node name. Nothing here knows a class.
import * as pulumi from "./sdk";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";
import type { Node, Role } from "./compile";
import { Domain, Network, NwFilter, Pool, Volume } from "./resources";

type CustomClass = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const CUSTOM: Record<string, CustomClass> = {
  [POOL_TYPE]: Pool,
  [VOLUME_TYPE]: Volume,
  [NETWORK_TYPE]: Network,
  [NWFILTER_TYPE]: NwFilter,
  [DOMAIN_TYPE]: Domain,
};

/**
 * The resources made so far, by node name, and those given from outside (a
 * component's `pool` and `dependsOn`). A node waiting for one not made yet (a
 * template's domain on a later netvm's client network) gets a promise that
 * settles when it is made.
 */
export class Made {
  private readonly made = new Map<string, pulumi.Resource>();
  private readonly later = new Map<string, { promise: Promise<pulumi.Resource>; resolve: (r: pulumi.Resource) => void }>();

  constructor(private readonly given: ReadonlyMap<string, pulumi.Input<pulumi.Resource>> = new Map()) {}

  set(name: string, resource: pulumi.Resource): void {
    this.made.set(name, resource);
    this.later.get(name)?.resolve(resource);
  }

  get(name: string): pulumi.Resource {
    const resource = this.made.get(name);
    if (resource === undefined) throw new Error(`instantiate: ${name} is not made yet`);
    return resource;
  }

  ref(name: string): pulumi.Input<pulumi.Resource> {
    const resource = this.made.get(name) ?? this.given.get(name);
    if (resource !== undefined) return resource;
    let entry = this.later.get(name);
    if (entry === undefined) {
      let resolve!: (r: pulumi.Resource) => void;
      const promise = new Promise<pulumi.Resource>((r) => (resolve = r));
      entry = { promise, resolve };
      this.later.set(name, entry);
    }
    return entry.promise;
  }
}

/** Makes a component node (through its class, which makes its own children). */
export type MakeComponent = (node: Node, opts: pulumi.ComponentResourceOptions) => pulumi.Resource;

/** The one loop: each node, in order, becomes its resource. */
export function instantiate(nodes: readonly Node[], made: Made, component?: MakeComponent): void {
  for (const node of nodes) {
    const parent = node.parent === undefined ? undefined : made.get(node.parent);
    if (!node.custom) {
      if (component === undefined) throw new Error(`instantiate: no maker for component ${node.name}`);
      const opts: pulumi.ComponentResourceOptions = { parent };
      if (node.aliases !== undefined) opts.aliases = node.aliases.map((name) => ({ name }));
      made.set(node.name, component(node, opts));
      continue;
    }
    const opts: pulumi.CustomResourceOptions = { parent, dependsOn: node.dependsOn.map((d) => made.ref(d)) };
    if (node.retainOnDelete !== undefined) opts.retainOnDelete = node.retainOnDelete;
    const Kind = CUSTOM[node.type];
    if (Kind === undefined) throw new Error(`instantiate: no resource class for ${node.type}`);
    made.set(node.name, new Kind(node.name, node.inputs as never, opts));
  }
}

/** A component's children when its Layout compiled them, keyed by the args object it passes the class. */
const precompiled = new WeakMap<object, { children: readonly Node[]; made: Made }>();

export function withPrecompiled<T extends object>(args: T, children: readonly Node[], made: Made): T {
  precompiled.set(args, { children, made });
  return args;
}

/** Names under which a component made on its own maps what it was given. */
export const GIVEN_POOL = "(pool)";
const givenDependsOn = (i: number) => `(dependsOn ${i})`;

/** A component's given pool and dependsOn as wiring names, and the map that resolves them. */
export function givenWiring(pool: pulumi.Input<pulumi.Resource> | undefined, dependsOn: readonly pulumi.Input<pulumi.Resource>[] = []) {
  const given = new Map<string, pulumi.Input<pulumi.Resource>>();
  if (pool !== undefined) given.set(GIVEN_POOL, pool);
  dependsOn.forEach((d, i) => given.set(givenDependsOn(i), d));
  return { wiring: { pool: pool === undefined ? undefined : GIVEN_POOL, upstream: dependsOn.map((_, i) => givenDependsOn(i)) }, given };
}

/**
 * Makes a component's children: those its Layout compiled, or `compile`'s
 * (the component made on its own), and returns them by role with the outputs
 * the component registers.
 */
export function instantiateChildren(
  self: pulumi.ComponentResource,
  name: string,
  args: object,
  compile: () => { nodes: Node[]; given: ReadonlyMap<string, pulumi.Input<pulumi.Resource>> },
): { parts: Partial<Record<Role, pulumi.Resource>>; outputs: Record<string, pulumi.Resource> } {
  let known = precompiled.get(args);
  if (known === undefined) {
    const { nodes, given } = compile();
    known = { children: nodes.slice(1), made: new Made(given) };
  }
  known.made.set(name, self);
  instantiate(known.children, known.made);
  const parts: Partial<Record<Role, pulumi.Resource>> = {};
  const outputs: Record<string, pulumi.Resource> = {};
  for (const child of known.children) {
    if (child.role === undefined) continue;
    parts[child.role] = known.made.get(child.name);
    if (child.output) outputs[child.role] = parts[child.role]!;
  }
  return { parts, outputs };
}
