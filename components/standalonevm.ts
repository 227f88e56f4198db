import type * as pulumi from "@pulumi/pulumi";
import type { Network, Volume } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

export type StandaloneVMArgs = QubeArgs;

/** A qube with its own persistent root, a full copy of its template's image. */
export class StandaloneVM extends QubeComponent {
  /** With `provides_network`: the client network it serves. */
  declare readonly network?: Network;
  declare readonly root: Volume;
  declare readonly private: Volume;

  constructor(name: string, args: StandaloneVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("StandaloneVM", name, args, opts);
  }
}
