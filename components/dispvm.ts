import type * as pulumi from "@pulumi/pulumi";
import type { Network } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

/** `template` is the root TemplateVM; the qube's own `template` names its dispvm-template AppVM. */
export type DispVMArgs = QubeArgs;

/**
 * A disposable: transient views of the root template's image and of its
 * dispvm-template's private volume, and no persistent volume of its own.
 */
export class DispVM extends QubeComponent {
  /** With `provides_network`: the client network it serves (a disposable sys-firewall or sys-net). */
  declare readonly network?: Network;

  constructor(name: string, args: DispVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("DispVM", name, args, opts);
  }
}
