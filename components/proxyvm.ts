import type * as pulumi from "@pulumi/pulumi";
import type { Network, Volume } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

export type ProxyVMArgs = QubeArgs;

/** A filtered client of its netvm that serves its own client network (Qubes' sys-firewall). */
export class ProxyVM extends QubeComponent {
  /** The client network it provides. */
  declare readonly network: Network;
  declare readonly private: Volume;

  constructor(name: string, args: ProxyVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ProxyVM", name, args, opts);
  }
}
