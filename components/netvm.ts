import type * as pulumi from "@pulumi/pulumi";
import type { Network, Volume } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

export type NetVMArgs = QubeArgs;

/**
 * The qube that holds the uplink (PCI NIC, macvtap, host bridge or libvirt
 * network) and serves its own client network (Qubes' sys-net).
 */
export class NetVM extends QubeComponent {
  /** The client network it provides. */
  declare readonly network: Network;
  declare readonly private: Volume;

  constructor(name: string, args: NetVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("NetVM", name, args, opts);
  }
}
