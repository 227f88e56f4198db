// Pure builders of the Volume inputs qubes use.
import type { ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import type { NoCloudSeed, VolumeArgs } from "../libvirt/types";
import { GiB, privateVolumeName, rootVolumeName, seedVolumeName, storageName } from "./naming";

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

/** A StandaloneVM's own root: a full copy of the template's image that the qube then writes, so its data. */
export function standaloneRootVolumeArgs(host: ResolvedHost, qube: ResolvedQube, template: ResolvedTemplate): VolumeArgs {
  return { ...rootVolumeArgs(host, storageName(qube), template), ...preserve(qube) };
}

export function privateVolumeArgs(host: ResolvedHost, qube: ResolvedQube): VolumeArgs {
  if (qube.privateBytes === undefined) throw new Error(`${qube.name}: a ${qube.class} has no private volume size`);
  return {
    uri: host.uri,
    name: privateVolumeName(host, storageName(qube)),
    pool: host.pool,
    capacity: qube.privateBytes,
    format: "qcow2",
    ...preserve(qube),
  };
}

/** A qube's data is preserved unless it opted in to losing it (`discard_data: true`). */
function preserve(qube: ResolvedQube): { preserve?: true } {
  return qube.discardData === true ? {} : { preserve: true };
}

/** Whether `up` keeps the qube's persistent volumes when the qube leaves the layout (Pulumi's retainOnDelete). */
export function keepsData(qube: ResolvedQube): boolean {
  return qube.discardData !== true;
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
