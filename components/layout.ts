import * as pulumi from "@pulumi/pulumi";
import type { QubeClass, ResolvedHost, ResolvedLayout, ResolvedQube, ResolvedTemplate } from "../layout/model";
import { AppVM } from "./appvm";
import { DispVM } from "./dispvm";
import { Pool, type Domain, type Network, type Volume } from "./resources";
import type { BulkheadMetadata } from "../libvirt/types";
import { domainName } from "./naming";
import { NetVM } from "./netvm";
import { qubeNics, templateNics } from "./nics";
import { ProxyVM } from "./proxyvm";
import type { QubeArgs } from "./qube";
import { StandaloneVM } from "./standalonevm";
import { TemplateVM } from "./templatevm";
import { UsbVM } from "./usbvm";
import { checkWiring, deployHost, layoutProps, poolArgs } from "./wiring";

// Moved to wiring.ts (no Pulumi there); still exported from here.
export { checkWiring, poolArgs };

export interface LayoutArgs {
  /** The layout as the loader resolved it. */
  readonly layout: ResolvedLayout;
  /** libvirt URI that overrides `host.uri` (the `bulkhead:uri` config key). */
  readonly uri?: string;
}

/** What the stack says about each qube and template. */
export interface QubeOutputs {
  /** libvirt domain name (prefix applied). */
  name: string;
  uuid: string;
  class: BulkheadMetadata["class"];
  netvm: string | null;
  /** Its address on its netvm's client network. */
  ip: string | null;
  /** MAC of its upstream interface (towards its netvm, or a NetVM's uplink). */
  mac: string | null;
  template: string | null;
  label: string;
  autostart: boolean;
  /** The client network it provides (NetVM, ProxyVM). */
  network: string | null;
}

/** What the Layout keeps of each qube component. */
interface Member {
  domain: Domain;
  network?: Network;
  private?: Volume;
}

type QubeComponent = new (name: string, args: QubeArgs, opts?: pulumi.ComponentResourceOptions) => Member;

const CLASSES: Record<QubeClass, QubeComponent> = { AppVM, NetVM, ProxyVM, UsbVM, DispVM, StandaloneVM };

/** A whole layout on one host: the pool, the templates, then the qubes. */
export class Layout extends pulumi.ComponentResource {
  public readonly pool: Pool;
  public readonly templates: Record<string, TemplateVM> = {};
  public readonly members: Record<string, Member> = {};
  /** Per qube and template, by layout name. */
  public readonly qubes: pulumi.Output<Record<string, QubeOutputs>>;

  constructor(name: string, args: LayoutArgs, opts?: pulumi.ComponentResourceOptions) {
    // host.memory is in no libvirt resource; the pack's memory-budget reads it from here (policies/model.ts).
    super("bulkhead:qubes:Layout", name, layoutProps(args.layout), opts);
    const layout = args.layout;
    const host: ResolvedHost = deployHost(layout, args.uri);
    checkWiring(layout);

    this.pool = new Pool(`${name}-pool`, poolArgs(host), { parent: this });
    // Templates come first (qubes wait for their roots), yet a template may
    // name a netvm declared later; its domain waits for that network through a
    // promise settled once the provider exists.
    const laterNetworks = new Map<string, { promise: Promise<pulumi.Resource>; resolve: (r: pulumi.Resource) => void }>();
    const networkOf = (provider: string): Promise<pulumi.Resource> => {
      let entry = laterNetworks.get(provider);
      if (entry === undefined) {
        let resolve!: (r: pulumi.Resource) => void;
        const promise = new Promise<pulumi.Resource>((r) => (resolve = r));
        entry = { promise, resolve };
        laterNetworks.set(provider, entry);
      }
      return entry.promise;
    };

    for (const t of layout.templates) {
      this.templates[t.name] = new TemplateVM(
        `${name}-${t.name}`,
        { host, layoutSource: layout.source, template: t, pool: this.pool, dependsOn: t.netvm === null ? [] : [networkOf(t.netvm)] },
        { parent: this },
      );
    }
    const templates = new Map(layout.templates.map((t) => [t.name, t]));
    for (const q of layout.qubes) {
      const template = templates.get(q.rootTemplate)!;
      // A renamed qube's component (and with it every child, whose names start
      // with the component's) is aliased to its old names: the engine moves
      // its resources instead of deleting and recreating them.
      const aliases = (q.renamedFrom ?? []).map((old) => ({ name: `${name}-${old}` }));
      const member = new CLASSES[q.class](
        `${name}-${q.name}`,
        { host, layoutSource: layout.source, qube: q, template, pool: this.pool, dependsOn: this.upstreamOf(q) },
        aliases.length === 0 ? { parent: this } : { parent: this, aliases },
      );
      this.members[q.name] = member;
      if (member.network !== undefined) laterNetworks.get(q.name)?.resolve(member.network);
    }

    const outputs: Record<string, pulumi.Output<QubeOutputs>> = {};
    for (const t of layout.templates) {
      outputs[t.name] = this.templates[t.name].domain.uuid.apply((uuid) => templateOutputs(host, t, uuid));
    }
    for (const q of layout.qubes) {
      outputs[q.name] = this.members[q.name].domain.uuid.apply((uuid) => qubeOutputs(host, q, uuid));
    }
    this.qubes = pulumi.output(outputs);
    // Also an output: the engine shows a stack policy a component's outputs, which registerOutputs replaces.
    this.registerOutputs({ qubes: this.qubes, ...layoutProps(layout) });
  }

  /** Resources a qube's domain must wait for, all declared before it (see checkWiring). */
  private upstreamOf(q: ResolvedQube): pulumi.Resource[] {
    const deps: pulumi.Resource[] = [];
    if (q.class !== "StandaloneVM") deps.push(this.templates[q.rootTemplate].root);
    if (q.netvm !== null) deps.push(this.members[q.netvm].network!);
    if (q.class === "DispVM") deps.push(this.members[q.template].private!);
    return deps;
  }
}

export function templateOutputs(host: ResolvedHost, t: ResolvedTemplate, uuid: string): QubeOutputs {
  return {
    name: domainName(host, t.name),
    uuid,
    class: "TemplateVM",
    netvm: t.netvm,
    ip: null,
    mac: templateNics(host, t)[0]?.iface.mac.address ?? null,
    template: null,
    label: t.label,
    autostart: false,
    network: null,
  };
}

export function qubeOutputs(host: ResolvedHost, q: ResolvedQube, uuid: string): QubeOutputs {
  const upstream = qubeNics(host, q).find((n) => n.role === "upstream" || n.role === "uplink");
  return {
    name: domainName(host, q.name),
    uuid,
    class: q.class,
    netvm: q.netvm,
    ip: q.addressing?.ip ?? null,
    mac: upstream?.iface.mac.address ?? null,
    template: q.template,
    label: q.label,
    autostart: q.autostart,
    network: q.provides?.network ?? null,
  };
}
