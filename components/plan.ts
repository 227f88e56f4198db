// The resources a layout registers, computed directly from the pure builders:
// what simulateLayout (components/simulate.ts) records under Pulumi's mocks,
// record for record, without loading the SDK. `bulkhead check` and `plan` use
// this; loading @pulumi/pulumi and running its output machinery cost seconds
// at 200 qubes. test/components/plan.test.ts holds the two equal.
//
// No runtime import of @pulumi/pulumi here, directly or through another module.
import type { QubeClass, ResolvedHost, ResolvedLayout, ResolvedQube } from "../layout/model";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";
import { clientNetworkArgs, qubeDomainArgs, qubeFilterArgs } from "./qube";
import { guestSeed, qubeGuest, templateGuest } from "./seed";
import { templateDomainArgs, templateFilterArgs } from "./template";
import { privateVolumeArgs, rootVolumeArgs, seedVolumeArgs, standaloneRootVolumeArgs } from "./volumes";
import { checkWiring, deployHost, layoutProps, poolArgs } from "./wiring";

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

export interface SimulateOptions {
  /** libvirt URI overriding `host.uri`. */
  uri?: string;
}

/** Mocked stack identity; it appears in every URN. */
export const SIM_PROJECT = "bulkhead";
export const SIM_STACK = "simulate";
/** Name of the Layout component, the prefix of every resource name below it. */
export const SIM_LAYOUT = "bulkhead";

const STACK_TYPE = "pulumi:pulumi:Stack";

/** What each class's component creates besides its seed, filter and domain (appvm.ts … standalonevm.ts). */
const OWN: Record<QubeClass, { root: boolean; private: boolean; network: boolean }> = {
  AppVM: { root: false, private: true, network: false },
  NetVM: { root: false, private: true, network: true },
  ProxyVM: { root: false, private: true, network: true },
  UsbVM: { root: false, private: true, network: false },
  DispVM: { root: false, private: false, network: false },
  StandaloneVM: { root: true, private: true, network: false },
};

/** What later qubes of the layout refer to in a qube: the Layout component's `members`. */
interface Member {
  network?: SimulatedResource;
  private?: SimulatedResource;
}

/**
 * Every resource `simulateLayout(layout, opts)` would record, equal to its
 * result (same records, same order), computed synchronously. Throws what
 * simulateLayout rejects with for a layout the components cannot wire.
 */
export function planLayout(layout: ResolvedLayout, opts: SimulateOptions = {}): SimulatedResource[] {
  const host: ResolvedHost = deployHost(layout, opts.uri);
  checkWiring(layout);
  const plan = new Registrations();
  const stack = plan.component(STACK_TYPE, `${SIM_PROJECT}-${SIM_STACK}`, undefined);
  const top = plan.component("bulkhead:qubes:Layout", SIM_LAYOUT, stack, layoutProps(layout));
  const pool = plan.custom(POOL_TYPE, `${SIM_LAYOUT}-pool`, top, poolArgs(host), []);

  const roots = new Map<string, SimulatedResource>();
  // A template may name a netvm declared later: its domain gets that network once the qube is planned.
  const waitingForNetwork: { domain: SimulatedResource; netvm: string }[] = [];
  for (const t of layout.templates) {
    const name = `${SIM_LAYOUT}-${t.name}`;
    const component = plan.component("bulkhead:qubes:TemplateVM", name, top);
    const root = plan.custom(VOLUME_TYPE, `${name}-root`, component, rootVolumeArgs(host, t.name, t), [pool]);
    const seed = plan.custom(VOLUME_TYPE, `${name}-seed`, component, seedVolumeArgs(host, t.name, guestSeed(host, templateGuest(host, t))), [pool]);
    const filter = t.netvm === null ? [] : [plan.custom(NWFILTER_TYPE, `${name}-fw`, component, templateFilterArgs(host, t), [])];
    const domain = plan.custom(DOMAIN_TYPE, `${name}-domain`, component, templateDomainArgs(host, layout.source, t), [root, seed, ...filter]);
    if (t.netvm !== null) waitingForNetwork.push({ domain, netvm: t.netvm });
    roots.set(t.name, root);
  }

  const templates = new Map(layout.templates.map((t) => [t.name, t]));
  const members = new Map<string, Member>();
  for (const q of layout.qubes) {
    const template = templates.get(q.rootTemplate)!;
    const name = `${SIM_LAYOUT}-${q.name}`;
    const component = plan.component(`bulkhead:qubes:${q.class}`, name, top);
    const own = OWN[q.class];
    const member: Member = {};
    // A NetVM or ProxyVM by class, any other qube by role (provides_network).
    if (own.network || q.provides !== undefined) member.network = plan.custom(NETWORK_TYPE, `${name}-clients`, component, clientNetworkArgs(host, q), []);
    const root = own.root ? [plan.custom(VOLUME_TYPE, `${name}-root`, component, standaloneRootVolumeArgs(host, q, template), [pool])] : [];
    if (own.private) member.private = plan.custom(VOLUME_TYPE, `${name}-private`, component, privateVolumeArgs(host, q), [pool]);
    const seed = plan.custom(VOLUME_TYPE, `${name}-seed`, component, seedVolumeArgs(host, q.name, guestSeed(host, qubeGuest(host, q))), [pool]);
    const filter = q.netvm === null ? [] : [plan.custom(NWFILTER_TYPE, `${name}-fw`, component, qubeFilterArgs(host, q), [])];
    const waitsFor = [...root, ...present(member.private), ...present(member.network), seed, ...filter, ...upstreamOf(q, roots, members)];
    plan.custom(DOMAIN_TYPE, `${name}-domain`, component, qubeDomainArgs(host, layout.source, q, template), waitsFor);
    members.set(q.name, member);
  }
  for (const { domain, netvm } of waitingForNetwork) domain.dependencies.push(members.get(netvm)!.network!.urn);
  return plan.finish();
}

/** As Layout.upstreamOf: the template's root, the netvm's client network, a DispVM template's private volume. */
function upstreamOf(q: ResolvedQube, roots: Map<string, SimulatedResource>, members: Map<string, Member>): SimulatedResource[] {
  const deps: SimulatedResource[] = [];
  if (q.class !== "StandaloneVM") deps.push(roots.get(q.rootTemplate)!);
  if (q.netvm !== null) deps.push(members.get(q.netvm)!.network!);
  if (q.class === "DispVM") deps.push(members.get(q.template)!.private!);
  return deps;
}

function present<T>(value: T | undefined): T[] {
  return value === undefined ? [] : [value];
}

/** The records, built as the mock monitor would see the registrations. */
class Registrations {
  private readonly records: SimulatedResource[] = [];

  component(type: string, name: string, parent: SimulatedResource | undefined, props: object = {}): SimulatedResource {
    return this.add(type, name, parent, wire(props) as Record<string, unknown>, false, []);
  }

  custom(type: string, name: string, parent: SimulatedResource, inputs: object, dependsOn: SimulatedResource[]): SimulatedResource {
    return this.add(type, name, parent, wire(inputs) as Record<string, unknown>, true, dependsOn);
  }

  /** The records sorted by URN, each with its dependencies deduplicated and sorted (as simulate.ts records them). */
  finish(): SimulatedResource[] {
    for (const r of this.records) r.dependencies = [...new Set(r.dependencies)].sort();
    return this.records.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  }

  private add(
    type: string,
    name: string,
    parent: SimulatedResource | undefined,
    inputs: Record<string, unknown>,
    custom: boolean,
    dependsOn: SimulatedResource[],
  ): SimulatedResource {
    // Key order as simulate.ts builds its records, for output that serialises the same.
    const record: SimulatedResource = { type, name, urn: urn(type, name, parent), inputs, custom, dependencies: dependsOn.map((d) => d.urn) };
    if (parent !== undefined) record.parent = parent.urn;
    this.records.push(record);
    return record;
  }
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
  if (Array.isArray(value)) {
    return value.map((v: unknown) => {
      const w = wire(v);
      return w === undefined ? null : w;
    });
  }
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = wire((value as Record<string, unknown>)[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
