import * as pulumi from "./sdk";
import type { QubeClass, ResolvedHost, ResolvedLayout, ResolvedQube, ResolvedTemplate } from "../layout/model";
import { AppVM } from "./appvm";
import { DispVM } from "./dispvm";
import { compileLayout, LAYOUT_TYPE, TEMPLATE_TYPE, type Node } from "./compile";
import { instantiate, Made, withPrecompiled } from "./instantiate";
import type { Domain, Network, Pool, Volume } from "./resources";
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

type QubeComponent = new (name: string, args: QubeArgs, opts?: pulumi.ComponentResourceOptions) => Member & pulumi.Resource;

const CLASSES: Record<QubeClass, QubeComponent> = { AppVM, NetVM, ProxyVM, UsbVM, DispVM, StandaloneVM };

/** A whole layout on one host: the pool, the templates, then the qubes, as compileLayout gives them. */
export class Layout extends pulumi.ComponentResource {
  public readonly pool: Pool;
  public readonly templates: Record<string, TemplateVM> = {};
  public readonly members: Record<string, Member> = {};
  /** Per qube and template, by layout name. */
  public readonly qubes: pulumi.Output<Record<string, QubeOutputs>>;

  constructor(name: string, args: LayoutArgs, opts?: pulumi.ComponentResourceOptions) {
    // host.memory is in no libvirt resource; the pack's memory-budget reads it from here (policies/model.ts).
    super(LAYOUT_TYPE, name, layoutProps(args.layout), opts);
    const layout = args.layout;
    const host: ResolvedHost = deployHost(layout, args.uri);
    const nodes = compileLayout(layout, { uri: args.uri }, name);
    const children = new Map<string, Node[]>();
    for (const n of nodes) {
      if (n.parent === undefined) continue;
      const siblings = children.get(n.parent);
      if (siblings === undefined) children.set(n.parent, [n]);
      else siblings.push(n);
    }

    const made = new Made();
    made.set(name, this);
    const templates = new Map(layout.templates.map((t) => [t.name, t]));
    const qubes = new Map(layout.qubes.map((q) => [q.name, q]));
    instantiate(children.get(name) ?? [], made, (node, componentOpts) => {
      const own = children.get(node.name) ?? [];
      const common = { host, layoutSource: layout.source, pool: made.get(`${name}-pool`) };
      if (node.type === TEMPLATE_TYPE) {
        const template = templates.get(node.of!)!;
        return (this.templates[template.name] = new TemplateVM(node.name, withPrecompiled({ ...common, template }, own, made), componentOpts));
      }
      const qube = qubes.get(node.of!)!;
      const args = withPrecompiled({ ...common, qube, template: templates.get(qube.rootTemplate)! }, own, made);
      return (this.members[qube.name] = new CLASSES[qube.class](node.name, args, componentOpts));
    });
    this.pool = made.get(`${name}-pool`) as Pool;

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
