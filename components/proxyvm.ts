import * as pulumi from "@pulumi/pulumi";
import { Network, type Domain, type NwFilter, type Volume } from "./resources";
import { privateVolume, qubeCore } from "./parts";
import { clientNetworkArgs, type QubeArgs } from "./qube";

export type ProxyVMArgs = QubeArgs;

/** A filtered client of its netvm that serves its own client network (Qubes' sys-firewall). */
export class ProxyVM extends pulumi.ComponentResource {
  /** The client network it provides. */
  public readonly network: Network;
  public readonly private: Volume;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: ProxyVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:ProxyVM", name, {}, opts);
    this.network = new Network(`${name}-clients`, clientNetworkArgs(args.host, args.qube), { parent: this });
    this.private = privateVolume(this, name, args);
    const core = qubeCore(this, name, args, [this.private, this.network]);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs({ domain: this.domain, network: this.network });
  }
}
