import * as pulumi from "@pulumi/pulumi";
import { Volume, type Domain, type NwFilter } from "./libvirt/resources";
import { dataVolumeOptions, privateVolume, qubeCore } from "./parts";
import type { QubeArgs } from "./qube";
import { standaloneRootVolumeArgs } from "./volumes";

export type StandaloneVMArgs = QubeArgs;

/** A qube with its own persistent root, a full copy of its template's image. */
export class StandaloneVM extends pulumi.ComponentResource {
  public readonly root: Volume;
  public readonly private: Volume;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: StandaloneVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:StandaloneVM", name, {}, opts);
    this.root = new Volume(`${name}-root`, standaloneRootVolumeArgs(args.host, args.qube, args.template), dataVolumeOptions(this, args));
    this.private = privateVolume(this, name, args);
    const core = qubeCore(this, name, args, [this.root, this.private]);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs({ domain: this.domain });
  }
}
