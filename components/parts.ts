// Children every qube component creates the same way (seed, filter, domain),
// so each class's file only says what is particular to it.
import * as pulumi from "@pulumi/pulumi";
import { Domain, Network, NwFilter, Volume } from "./resources";
import { clientNetworkArgs, qubeDomainArgs, qubeFilterArgs, type QubeArgs } from "./qube";
import { qubeSeed } from "./seed";
import { keepsData, privateVolumeArgs, seedVolumeArgs } from "./volumes";

/** Options of a volume: a child of the component, after the pool. */
export function volumeOptions(parent: pulumi.Resource, args: QubeArgs): pulumi.CustomResourceOptions {
  return { parent, dependsOn: args.pool === undefined ? [] : [args.pool] };
}

/**
 * Options of a volume holding the qube's data: also retained on delete (the
 * engine forgets it and leaves it on the host when the qube leaves the layout
 * or the stack is destroyed) unless the qube opted in with `discard_data`.
 */
export function dataVolumeOptions(parent: pulumi.Resource, args: QubeArgs): pulumi.CustomResourceOptions {
  return { ...volumeOptions(parent, args), retainOnDelete: keepsData(args.qube) };
}

export function privateVolume(parent: pulumi.Resource, name: string, args: QubeArgs): Volume {
  return new Volume(`${name}-private`, privateVolumeArgs(args.host, args.qube), dataVolumeOptions(parent, args));
}

/** The client network of a qube that provides network by role (`provides_network` on an AppVM, StandaloneVM or DispVM). */
export function providedNetwork(parent: pulumi.Resource, name: string, args: QubeArgs): Network | undefined {
  return args.qube.provides === undefined ? undefined : new Network(`${name}-clients`, clientNetworkArgs(args.host, args.qube), { parent });
}

export interface QubeCore {
  seed: Volume;
  /** Present when the qube has a netvm. */
  filter?: NwFilter;
  domain: Domain;
}

/**
 * The seed, the filter (with a netvm) and the domain, which waits for the
 * qube's own volumes and networks (`own`) and for what it references elsewhere.
 */
export function qubeCore(parent: pulumi.Resource, name: string, args: QubeArgs, own: pulumi.Resource[]): QubeCore {
  const { host, qube } = args;
  const seed = new Volume(`${name}-seed`, seedVolumeArgs(host, qube.name, qubeSeed(host, qube)), volumeOptions(parent, args));
  const filter = qube.netvm === null ? undefined : new NwFilter(`${name}-fw`, qubeFilterArgs(host, qube), { parent });
  const dependsOn: pulumi.Input<pulumi.Resource>[] = [...own, seed, ...(filter ? [filter] : []), ...(args.dependsOn ?? [])];
  const domain = new Domain(`${name}-domain`, qubeDomainArgs(host, args.layoutSource, qube, args.template), { parent, dependsOn });
  return filter === undefined ? { seed, domain } : { seed, filter, domain };
}
