import * as pulumi from "@pulumi/pulumi";
import type { Domain, Network, NwFilter, Volume } from "./resources";
import { providedNetwork, qubeCore } from "./parts";
import type { QubeArgs } from "./qube";

/** `template` is the root TemplateVM; the qube's own `template` names its dispvm-template AppVM. */
export type DispVMArgs = QubeArgs;

/**
 * A disposable: transient views of the root template's image and of its
 * dispvm-template's private volume, and no persistent volume of its own.
 */
export class DispVM extends pulumi.ComponentResource {
  /** With `provides_network`: the client network it serves (a disposable sys-firewall or sys-net). */
  public readonly network?: Network;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: DispVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:DispVM", name, {}, opts);
    this.network = providedNetwork(this, name, args);
    const core = qubeCore(this, name, args, this.network ? [this.network] : []);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs(this.network ? { domain: this.domain, network: this.network } : { domain: this.domain });
  }
}
