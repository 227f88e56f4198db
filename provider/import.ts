// `pulumi import` of a libvirt object bulkhead did not make: the engine calls Read
// with the id the user typed and no state. The id names the object, `[<uri>#]<name>`
// (a Volume: `[<uri>#]<pool>/<volume>`; the URI defaults to BULKHEAD_URI, else
// qemu:///system), and the whole live definition becomes the resource's inputs,
// so what the program must declare to own it is exactly what the import recorded
// (`pulumi stack export`, or the diff a program that declares otherwise shows).
import { parseDomainXml } from "../libvirt/xml/domain";
import { parseNetworkXml } from "../libvirt/xml/network";
import { parseNwFilterXml } from "../libvirt/xml/nwfilter";
import { parseVolumeXml } from "../libvirt/xml/volume";
import { parseInfo, virsh, virshIfExists } from "../libvirt/virsh";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, VOLUME_TYPE } from "../libvirt/tokens";

export const DEFAULT_IMPORT_URI = "qemu:///system";

export interface ImportTarget {
  uri: string;
  name: string;
  pool?: string;
}

/** Reads an import id; throws with the expected form when it cannot be one. */
export function parseImportId(type: string, id: string, env: NodeJS.ProcessEnv = process.env): ImportTarget {
  const hash = id.lastIndexOf("#");
  const uri = hash >= 0 ? id.slice(0, hash) : env["BULKHEAD_URI"] || DEFAULT_IMPORT_URI;
  const rest = hash >= 0 ? id.slice(hash + 1) : id;
  const form = type.endsWith(":Volume") ? "[<uri>#]<pool>/<volume>" : "[<uri>#]<name>";
  if (uri === "" || rest === "") throw new Error(`${type}: cannot import ${JSON.stringify(id)}: the id is ${form}`);
  if (type.endsWith(":Volume")) {
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) throw new Error(`${type}: cannot import ${JSON.stringify(id)}: the id is ${form}`);
    return { uri, pool: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
  return { uri, name: rest };
}

function dump(uri: string, args: string[]): Promise<string | undefined> {
  return virshIfExists(uri, args);
}

/**
 * The live object as the resource's full state, and the id bulkhead gives its own objects of the
 * kind (the live UUID; a volume's path), or undefined when there is none of that name. The owner
 * mark of another stack is not taken over: it is left out of the inputs (the next update writes
 * this stack's).
 */
export async function importState(type: string, id: string): Promise<{ id: string; state: Record<string, unknown> } | undefined> {
  const t = parseImportId(type, id);
  const { uri, name } = t;
  switch (type) {
    case DOMAIN_TYPE: {
      const xml = await dump(uri, ["dumpxml", "--inactive", "--domain", name]);
      if (xml === undefined) return undefined;
      const info = parseInfo(await virsh(uri, ["dominfo", "--domain", name]));
      const running = !["shut off", "crashed", ""].includes(info.State ?? "");
      const { owner: _owner, ...spec } = parseDomainXml(xml);
      return { id: spec.uuid ?? "", state: { ...spec, uri, autostart: info.Autostart === "enable", running } };
    }
    case NETWORK_TYPE: {
      const xml = await dump(uri, ["net-dumpxml", "--inactive", "--network", name]);
      if (xml === undefined) return undefined;
      const info = parseInfo(await virsh(uri, ["net-info", "--network", name]));
      const { owner: _owner, ...spec } = parseNetworkXml(xml);
      return { id: info.UUID ?? "", state: { ...spec, uri, autostart: info.Autostart === "yes", uuid: info.UUID ?? "", bridgeName: info.Bridge ?? "" } };
    }
    case NWFILTER_TYPE: {
      const xml = await dump(uri, ["nwfilter-dumpxml", "--nwfilter", name]);
      if (xml === undefined) return undefined;
      const { uuid, ...spec } = parseNwFilterXml(xml);
      return { id: uuid ?? "", state: { ...spec, uri } };
    }
    case VOLUME_TYPE: {
      const xml = await dump(uri, ["vol-dumpxml", "--pool", t.pool as string, "--vol", name]);
      if (xml === undefined) return undefined;
      const live = parseVolumeXml(xml);
      return { id: live.path ?? "", state: { ...live, uri, pool: t.pool } };
    }
    default:
      throw new Error(`${type}: import by name is not supported (import a Domain, Network, NwFilter or Volume)`);
  }
}
