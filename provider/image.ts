// Pure helpers for filling volumes: what an image file is (from its header),
// and the files of a NoCloud seed.
import type { NoCloudSeed } from "../libvirt/types";

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"

export interface ImageFacts {
  format: "qcow2" | "raw";
  /** Guest-visible size: the qcow2 header's size, or the file size for raw. */
  virtualSize: number;
}

/** Reads an image's format and virtual size from its first 32 bytes and its file size. */
export function imageFacts(header: Buffer, fileSize: number): ImageFacts {
  if (header.length >= 32 && header.subarray(0, 4).equals(QCOW2_MAGIC)) {
    return { format: "qcow2", virtualSize: Number(header.readBigUInt64BE(24)) };
  }
  return { format: "raw", virtualSize: fileSize };
}

/** Files of a seed image, in a fixed order: the NoCloud ones first, then extras by name. */
export function seedFiles(seed: NoCloudSeed): { name: string; data: Buffer }[] {
  const files = [
    { name: "meta-data", data: Buffer.from(seed.metaData) },
    { name: "user-data", data: Buffer.from(seed.userData) },
  ];
  if (seed.networkConfig !== undefined) files.push({ name: "network-config", data: Buffer.from(seed.networkConfig) });
  for (const name of Object.keys(seed.files ?? {}).sort()) {
    if (files.some((f) => f.name === name)) throw new Error(`seed.files.${name} clashes with a NoCloud file`);
    files.push({ name, data: Buffer.from(seed.files![name]) });
  }
  return files;
}
