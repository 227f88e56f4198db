import type * as pulumi from "@pulumi/pulumi";
import type { Network, Volume } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

export type AppVMArgs = QubeArgs;

/** A qube with a transient view of its template's root and its own persistent private volume. */
export class AppVM extends QubeComponent {
  /** With `provides_network`: the client network it serves (a VPN, a pi-hole). */
  declare readonly network?: Network;
  declare readonly private: Volume;

  constructor(name: string, args: AppVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("AppVM", name, args, opts);
  }
}
