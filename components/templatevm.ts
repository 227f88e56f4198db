import * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost, ResolvedTemplate } from "../layout/model";
import { domainArgs, rootDisk, seedDisk } from "./domain";
import { compileFirewall } from "./firewall";
import { Domain, NwFilter, Volume } from "./libvirt/resources";
import type { DomainArgs, NwFilterArgs } from "./libvirt/types";
import { filterName, rootVolumeName, seedVolumeName, volumePath } from "./naming";
import { templateNics } from "./nics";
import { templateSeed } from "./seed";
import { rootVolumeArgs, seedVolumeArgs } from "./volumes";

export interface TemplateVMArgs {
  /** Host the template lives on (its `uri` already overridden where asked). */
  readonly host: ResolvedHost;
  /** Layout file the template comes from, recorded in its domain's metadata. */
  readonly layoutSource: string;
  /** The template as the loader resolved it. */
  readonly template: ResolvedTemplate;
  /** The storage pool; the volumes wait for it. */
  readonly pool?: pulumi.Input<pulumi.Resource>;
  /** What the domain waits for: its netvm's client network, if it has one (a policy violation). */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A TemplateVM: the root image its qubes boot copy-on-write. Its domain stays
 * defined but stopped; only it ever writes the image (to install updates).
 */
export class TemplateVM extends pulumi.ComponentResource {
  /** The root volume, imported from the template's image. */
  public readonly root: Volume;
  public readonly seed: Volume;
  /** Only if the template has a netvm (valid, but a policy violation). */
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: TemplateVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:TemplateVM", name, {}, opts);
    const { host, template } = args;
    const volumeOpts = { parent: this, dependsOn: args.pool === undefined ? [] : [args.pool] };
    this.root = new Volume(`${name}-root`, rootVolumeArgs(host, template.name, template), volumeOpts);
    this.seed = new Volume(`${name}-seed`, seedVolumeArgs(host, template.name, templateSeed(host, template)), volumeOpts);
    if (template.netvm !== null) {
      this.filter = new NwFilter(`${name}-fw`, templateFilterArgs(host, template), { parent: this });
    }
    const dependsOn = [this.root, this.seed, ...(this.filter ? [this.filter] : []), ...(args.dependsOn ?? [])];
    this.domain = new Domain(`${name}-domain`, templateDomainArgs(host, args.layoutSource, template), { parent: this, dependsOn });
    this.registerOutputs({ domain: this.domain, root: this.root });
  }
}

export function templateDomainArgs(host: ResolvedHost, layout: string, template: ResolvedTemplate): DomainArgs {
  return domainArgs({
    host,
    layout,
    name: template.name,
    class: "TemplateVM",
    netvm: template.netvm,
    label: template.label,
    memory: template.memory,
    vcpus: template.vcpus,
    boot: template.boot,
    disks: [
      rootDisk(volumePath(host, rootVolumeName(host, template.name)), template.format, false),
      seedDisk(volumePath(host, seedVolumeName(host, template.name))),
    ],
    interfaces: templateNics(host, template).map((n) => n.iface),
    autostart: false,
    running: false,
  });
}

/** Qubes' default rule (accept) for a template that was given a netvm anyway. */
export function templateFilterArgs(host: ResolvedHost, template: ResolvedTemplate): NwFilterArgs {
  return compileFirewall({ uri: host.uri, name: filterName(host, template.name), rules: [{ action: "accept" }] });
}
