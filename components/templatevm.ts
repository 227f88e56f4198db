import * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost, ResolvedTemplate } from "../layout/model";
import { Domain, NwFilter, Volume } from "./resources";
import { templateSeed } from "./seed";
import { templateDomainArgs, templateFilterArgs } from "./template";
import { rootVolumeArgs, seedVolumeArgs } from "./volumes";

// Moved to template.ts (no Pulumi there); still exported from here.
export { templateDomainArgs, templateFilterArgs };

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
