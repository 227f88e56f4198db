// libvirt object names, volume paths and MACs, per the project's shared
// conventions. Everything that names a host object goes through here so the
// components, the seed and the outputs can never disagree.
import { createHash } from "node:crypto";
import type { ResolvedHost } from "../layout/model";

export const GiB = 1024 ** 3;

/** Domain name of a qube or template. */
export function domainName(host: ResolvedHost, qube: string): string {
  return `${host.prefix}${qube}`;
}

/** A provider's client network. */
export function clientNetworkName(host: ResolvedHost, provider: string): string {
  return `${host.prefix}${provider}-clients`;
}

/** A qube's egress filter. */
export function filterName(host: ResolvedHost, qube: string): string {
  return `${host.prefix}${qube}-fw`;
}

export function rootVolumeName(host: ResolvedHost, qube: string): string {
  return `${host.prefix}${qube}-root.qcow2`;
}

/**
 * The name a qube's persistent volumes carry: its own, or after a rename
 * (`renamed_from`) the oldest name, since a libvirt volume cannot be renamed
 * and its data must stay. A DispVM uses its template AppVM's private volume.
 */
export function storageName(qube: { name: string; renamedFrom?: string[] }): string {
  return qube.renamedFrom?.[0] ?? qube.name;
}

export function privateVolumeName(host: ResolvedHost, qube: string): string {
  return `${host.prefix}${qube}-private.qcow2`;
}

export function seedVolumeName(host: ResolvedHost, qube: string): string {
  return `${host.prefix}${qube}-seed.iso`;
}

/**
 * Path of a volume in the layout's pool. bulkhead declares the pool as a `dir`
 * pool at `poolPath`, where libvirt keeps a volume at `<poolPath>/<name>`;
 * computing it (rather than waiting for the Volume's `path` output) keeps every
 * domain input known during a preview, so the policy pack can judge previews.
 */
export function volumePath(host: Pick<ResolvedHost, "poolPath">, volume: string): string {
  return `${host.poolPath.replace(/\/+$/, "")}/${volume}`;
}

/** Serial console log of a domain on the host. */
export function serialLogPath(domain: string): string {
  return `/var/log/libvirt/qemu/${domain}.serial.log`;
}

/** Locally administered MAC `52:54:00:xx:xx:xx` from the first 3 bytes of sha256(seed). */
export function deriveMac(seed: string): string {
  const digest = createHash("sha256").update(seed, "utf8").digest();
  const tail = [...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}

/** MAC of a qube's upstream interface (towards its netvm, or a NetVM's uplink). */
export function upstreamMac(host: ResolvedHost, qube: string): string {
  return deriveMac(`${host.prefix}${qube}`);
}
