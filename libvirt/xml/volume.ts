// Volume XML <-> VolumeArgs. `source` and `seed` say how the volume is filled
// after creation; they are not part of libvirt's volume XML.
import type { VolumeArgs } from "../types";
import { attr, attrs, buildXml, child, definedOnly, parseXml, requireAttr, scaledBytes, text, textNode } from "./xml";

/** What the volume XML holds: no connection, pool (given to vol-create) or fill source. */
export type VolumeXmlSpec = Omit<VolumeArgs, "uri" | "pool" | "source" | "seed">;
/** A volume as read back; `path` is where libvirt keeps it. */
export type ParsedVolume = VolumeXmlSpec & { path?: string };

type Format = VolumeArgs["format"];

export function renderVolumeXml(spec: VolumeXmlSpec): string {
  return buildXml("volume", {
    ...attrs({ type: "file" }),
    name: spec.name,
    capacity: textNode(spec.capacity, { unit: "bytes" }),
    // Sparse: without it libvirt preallocates the whole capacity of a raw volume.
    allocation: textNode(0, { unit: "bytes" }),
    target: { format: attrs({ type: spec.format }) },
    backingStore: spec.backingStore
      ? { path: spec.backingStore.path, format: attrs({ type: spec.backingStore.format }) }
      : undefined,
  });
}

export function parseVolumeXml(xml: string): ParsedVolume {
  const vol = parseXml(xml, "volume", []);
  const name = text(vol, "name");
  const capacity = scaledBytes(vol, "capacity", "bytes");
  if (name === undefined || capacity === undefined) throw new Error("<volume> needs <name> and <capacity>");
  const target = child(vol, "target");
  const backing = child(vol, "backingStore");
  const backingPath = text(backing, "path");
  return definedOnly({
    name,
    capacity,
    format: volumeFormat(requireAttr(child(target, "format"), "type", "volume target format")),
    backingStore:
      backingPath === undefined || backingPath === ""
        ? undefined
        : { path: backingPath, format: (attr(child(backing, "format"), "type") ?? "raw") as Format },
    path: text(target, "path"),
  });
}

/** libvirt probes a raw file that holds an ISO 9660 image (a seed) as `iso`; to qemu it is raw. */
function volumeFormat(probed: string): Format {
  return probed === "iso" ? "raw" : (probed as Format);
}
