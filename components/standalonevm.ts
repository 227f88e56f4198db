import * as pulumi from "@pulumi/pulumi";
import { Volume, type Domain, type Network, type NwFilter } from "./resources";
import { dataVolumeOptions, privateVolume, providedNetwork, qubeCore } from "./parts";
import type { QubeArgs } from "./qube";
import { standaloneRootVolumeArgs } from "./volumes";

export type StandaloneVMArgs = QubeArgs;

/** A qube with its own persistent root, a full copy of its template's image. */
export class StandaloneVM extends pulumi.ComponentResource {
  /** With `provides_network`: the client network it serves. */
  public readonly network?: Network;
  public readonly root: Volume;
  public readonly private: Volume;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: StandaloneVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:StandaloneVM", name, {}, opts);
    this.network = providedNetwork(this, name, args);
    this.root = new Volume(`${name}-root`, standaloneRootVolumeArgs(args.host, args.qube, args.template), dataVolumeOptions(this, args));
    this.private = privateVolume(this, name, args);
    const core = qubeCore(this, name, args, [this.root, this.private, ...(this.network ? [this.network] : [])]);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs(this.network ? { domain: this.domain, network: this.network } : { domain: this.domain });
  }
}
