import type * as pulumi from "@pulumi/pulumi";
import type { Volume } from "./resources";
import type { QubeArgs } from "./qube";
import { QubeComponent } from "./shell";

export type UsbVMArgs = QubeArgs;

/** The qube that holds the USB controllers (PCI) and USB devices; offline unless given a netvm. */
export class UsbVM extends QubeComponent {
  declare readonly private: Volume;

  constructor(name: string, args: UsbVMArgs, opts?: pulumi.ComponentResourceOptions) {
    super("UsbVM", name, args, opts);
  }
}
