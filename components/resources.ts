// The project's libvirt resources as programs see them. Each is a custom
// resource served by the `bulkhead` provider plugin (provider/), typed
// `bulkhead:libvirt:<Kind>` so policies can tell them apart.
import * as pulumi from "./sdk";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";
import type {
  DomainArgs,
  NetworkArgs,
  NwFilterArgs,
  PoolArgs,
  VolumeArgs,
} from "../libvirt/types";

/** Wraps every top-level field of T in `pulumi.Input` (nested values are resolved by the engine). */
export type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class Pool extends pulumi.CustomResource {
  static readonly __pulumiType = POOL_TYPE;
  declare readonly name: pulumi.Output<string>;
  declare readonly target: pulumi.Output<{ path: string }>;

  constructor(name: string, args: Inputs<PoolArgs>, opts?: pulumi.CustomResourceOptions) {
    super(Pool.__pulumiType, name, { ...args }, opts);
  }
}

export class Volume extends pulumi.CustomResource {
  static readonly __pulumiType = VOLUME_TYPE;
  declare readonly name: pulumi.Output<string>;
  declare readonly pool: pulumi.Output<string>;
  /** Path of the volume on the host. */
  declare readonly path: pulumi.Output<string>;
  declare readonly format: pulumi.Output<"qcow2" | "raw">;

  constructor(name: string, args: Inputs<VolumeArgs>, opts?: pulumi.CustomResourceOptions) {
    super(Volume.__pulumiType, name, { ...args, path: undefined }, opts);
  }
}

export class Network extends pulumi.CustomResource {
  static readonly __pulumiType = NETWORK_TYPE;
  declare readonly name: pulumi.Output<string>;
  declare readonly uuid: pulumi.Output<string>;
  /** Bridge device libvirt gave the network. */
  declare readonly bridgeName: pulumi.Output<string>;

  constructor(name: string, args: Inputs<NetworkArgs>, opts?: pulumi.CustomResourceOptions) {
    super(Network.__pulumiType, name, { ...args, uuid: undefined, bridgeName: undefined }, opts);
  }
}

export class NwFilter extends pulumi.CustomResource {
  static readonly __pulumiType = NWFILTER_TYPE;
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: Inputs<NwFilterArgs>, opts?: pulumi.CustomResourceOptions) {
    super(NwFilter.__pulumiType, name, { ...args }, opts);
  }
}

export class Domain extends pulumi.CustomResource {
  static readonly __pulumiType = DOMAIN_TYPE;
  declare readonly name: pulumi.Output<string>;
  /** UUID libvirt gave the domain (kept across updates). */
  declare readonly uuid: pulumi.Output<string>;
  declare readonly metadata: pulumi.Output<DomainArgs["metadata"]>;
  declare readonly devices: pulumi.Output<DomainArgs["devices"]>;

  constructor(name: string, args: Inputs<DomainArgs>, opts?: pulumi.CustomResourceOptions) {
    super(Domain.__pulumiType, name, { ...args, uuid: undefined }, opts);
  }
}
