// Pure builders of the Volume inputs qubes use.
import type { ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import type { NoCloudSeed, VolumeArgs } from "./libvirt/types";
import { GiB, privateVolumeName, rootVolumeName, seedVolumeName } from "./naming";

/** Capacity asked for an imported root; the provider grows it to at least the image's size. */
export const ROOT_BYTES = 8 * GiB;
/** Capacity asked for a seed; the provider sizes the image to the files it holds. */
export const SEED_BYTES = 1024 ** 2;

/** A root imported from the template's image: the template's own, or a StandaloneVM's full copy. */
export function rootVolumeArgs(host: ResolvedHost, owner: string, template: ResolvedTemplate): VolumeArgs {
  return {
    uri: host.uri,
    name: rootVolumeName(host, owner),
    pool: host.pool,
    capacity: ROOT_BYTES,
    format: template.format,
    ...(template.image.startsWith("https://")
      ? { source: { url: template.image, sha256: template.sha256 ?? "" } }
      : { source: { file: template.image }, imageDirs: [...host.images] }),
  };
}

export function privateVolumeArgs(host: ResolvedHost, qube: ResolvedQube): VolumeArgs {
  if (qube.privateBytes === undefined) throw new Error(`${qube.name}: a ${qube.class} has no private volume size`);
  return {
    uri: host.uri,
    name: privateVolumeName(host, qube.name),
    pool: host.pool,
    capacity: qube.privateBytes,
    format: "qcow2",
  };
}

export function seedVolumeArgs(host: ResolvedHost, owner: string, seed: NoCloudSeed): VolumeArgs {
  return {
    uri: host.uri,
    name: seedVolumeName(host, owner),
    pool: host.pool,
    capacity: SEED_BYTES,
    format: "raw",
    seed,
  };
}
