import * as pulumi from "@pulumi/pulumi";
import type { Domain, Network, NwFilter, Volume } from "./resources";
import { privateVolume, providedNetwork, qubeCore } from "./parts";
import type { QubeArgs } from "./qube";

export type AppVMArgs = QubeArgs;

/** A qube with a transient view of its template's root and its own persistent private volume. */
export class AppVM extends pulumi.ComponentResource {
  /** With `provides_network`: the client network it serves (a VPN, a pi-hole). */
  public readonly network?: Network;
  public readonly private: Volume;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: AppVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:AppVM", name, {}, opts);
    this.network = providedNetwork(this, name, args);
    this.private = privateVolume(this, name, args);
    const core = qubeCore(this, name, args, [this.private, ...(this.network ? [this.network] : [])]);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs(this.network ? { domain: this.domain, network: this.network } : { domain: this.domain });
  }
}
