// The NwFilter resource (NWFILTER_TYPE). nwfilter-define with the filter's UUID replaces
// its rules live, so every change but uri/name is an in-place update.
import { randomUUID } from "node:crypto";
import type { NwFilterArgs } from "../../libvirt/types";
import { parseNwFilterXml, renderNwFilterXml } from "../../libvirt/xml/nwfilter";
import { nwfilterSchema } from "../schemas";
import { virsh, virshIfExists } from "../../libvirt/virsh";
import { KindHandler, keepDeclared, provenByUuid } from "./kind";

async function liveFilter(uri: string, name: string) {
  const xml = await virshIfExists(uri, ["nwfilter-dumpxml", "--nwfilter", name]);
  return xml === undefined ? undefined : parseNwFilterXml(xml);
}

function define(args: NwFilterArgs, uuid?: string): Promise<string> {
  return virsh(args.uri, ["nwfilter-define"], { xml: renderNwFilterXml(args, { uuid }) });
}

export const nwfilterHandler: KindHandler<NwFilterArgs> = {
  schema: nwfilterSchema,
  outputKeys: [],
  replaces: (changed) => changed.filter((k) => k === "uri" || k === "name"),

  async claim() {
    return { uuid: randomUUID() };
  },

  async create(args, _ctx, claim = {}) {
    // Fails if a filter of that name exists (libvirt refuses it under another UUID): a create
    // never takes over someone else's filter. The UUID is chosen before (and journaled), so
    // no dumpxml is needed and recovery can tell this filter from a same-named one.
    const uuid = claim.uuid ?? randomUUID();
    try {
      await define(args, uuid);
    } catch (e) {
      const other = await liveFilter(args.uri, args.name).catch(() => undefined);
      if (other === undefined || other.uuid === uuid) throw e;
      throw new Error(
        `nwfilter ${args.name} already exists on the host (uuid ${other.uuid ?? "?"}); bulkhead defines only new filters and never takes over another's: remove it, or give the layout another host.prefix (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    return { id: uuid, outs: { ...args } };
  },

  async read(id, state) {
    const live = await liveFilter(state.uri, state.name);
    if (!live || !provenByUuid(id, live.uuid)) return undefined;
    const { uuid: _uuid, ...spec } = live;
    // `hosts` lives in the state only (the filter XML has the addresses, not the names).
    const declared = { ...state, uri: undefined, hosts: undefined };
    const read = { ...(keepDeclared(declared, spec) as Omit<NwFilterArgs, "uri">), uri: state.uri };
    return state.hosts === undefined ? read : { ...read, hosts: state.hosts };
  },

  async update(id, _olds, news) {
    const live = await liveFilter(news.uri, news.name);
    // Redefining by name would replace the rules of whatever filter holds it now: only ours.
    if (live !== undefined && !provenByUuid(id, live.uuid)) {
      throw new Error(`nwfilter ${news.name} on the host has uuid ${live.uuid ?? "?"}, not ${id}: it is not the one this stack made, so bulkhead leaves it alone; run \`pulumi refresh\``);
    }
    await define(news, live?.uuid ?? id);
    return { ...news };
  },

  async delete(id, state) {
    const live = await liveFilter(state.uri, state.name);
    if (!live || !provenByUuid(id, live.uuid)) return;
    await virshIfExists(state.uri, ["nwfilter-undefine", "--nwfilter", state.name]);
  },
};
