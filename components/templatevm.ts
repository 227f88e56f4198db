import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost, ResolvedTemplate } from "../layout/model";
import { compileTemplate, TEMPLATE_TYPE } from "./compile";
import type { Volume } from "./resources";
import { CompiledComponent } from "./shell";
import { templateDomainArgs, templateFilterArgs } from "./template";

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
 * Its parts are TEMPLATE_PARTS (compile.ts).
 */
export class TemplateVM extends CompiledComponent {
  /** The root volume, imported from the template's image. */
  declare readonly root: Volume;

  constructor(name: string, args: TemplateVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TEMPLATE_TYPE, name, args, (wiring) => compileTemplate(args.host, args.layoutSource, args.template, name, wiring), opts);
  }
}
