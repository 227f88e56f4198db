import * as pulumi from "@pulumi/pulumi";
import type { Domain, NwFilter, Volume } from "./resources";
import { privateVolume, qubeCore } from "./parts";
import type { QubeArgs } from "./qube";

export type UsbVMArgs = QubeArgs;

/** The qube that holds the USB controllers (PCI) and USB devices; offline unless given a netvm. */
export class UsbVM extends pulumi.ComponentResource {
  public readonly private: Volume;
  public readonly seed: Volume;
  public readonly filter?: NwFilter;
  public readonly domain: Domain;

  constructor(name: string, args: UsbVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:qubes:UsbVM", name, {}, opts);
    this.private = privateVolume(this, name, args);
    const core = qubeCore(this, name, args, [this.private]);
    this.seed = core.seed;
    this.filter = core.filter;
    this.domain = core.domain;
    this.registerOutputs({ domain: this.domain });
  }
}
