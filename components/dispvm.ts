import * as pulumi from "@pulumi/pulumi";
import type { Domain, NwFilter, Volume } from "./libvirt/resources";
import { qubeCore } from "./parts";
import type { QubeArgs } from "./qube";

/** `template` is the root TemplateVM; the qube's own `template` names its dispvm-template AppVM. */
export type DispVMArgs = QubeArgs;

/**
 * A disposable: transient views of the root template's image and of its
 * dispvm-template's private volume, and no persistent volume of its own.
 */
export class DispVM extends pulumi.ComponentResource {
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: DispVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:DispVM", name, {}, opts);
    const core = qubeCore(this, name, args, []);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs({ domain: this.domain });
  }
}
