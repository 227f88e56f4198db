// bulkhead:libvirt:NwFilter. nwfilter-define with the filter's UUID replaces
// its rules live, so every change but uri/name is an in-place update.
import { randomUUID } from "node:crypto";
import type { NwFilterArgs } from "../../components/libvirt/types";
import { parseNwFilterXml, renderNwFilterXml } from "../../components/libvirt/xml/nwfilter";
import { nwfilterSchema } from "../schemas";
import { isNotFound, virsh } from "../virsh";
import { KindHandler, keepDeclared } from "./kind";

async function liveFilter(uri: string, name: string) {
  try {
    return parseNwFilterXml(await virsh(uri, ["nwfilter-dumpxml", "--nwfilter", name]));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

function define(args: NwFilterArgs, uuid?: string): Promise<string> {
  return virsh(args.uri, ["nwfilter-define"], { xml: renderNwFilterXml(args, { uuid }) });
}

export const nwfilterHandler: KindHandler<NwFilterArgs> = {
  schema: nwfilterSchema,
  outputKeys: [],
  replaces: (changed) => changed.filter((k) => k === "uri" || k === "name"),

  async create(args) {
    // Fails if a filter of that name exists (libvirt refuses it under another UUID): a create
    // never takes over someone else's filter. The UUID is chosen here, so no dumpxml is needed.
    const uuid = randomUUID();
    await define(args, uuid);
    return { id: uuid, outs: { ...args } };
  },

  async read(_id, state) {
    const live = await liveFilter(state.uri, state.name);
    if (!live) return undefined;
    const { uuid: _uuid, ...spec } = live;
    // `hosts` lives in the state only (the filter XML has the addresses, not the names).
    const declared = { ...state, uri: undefined, hosts: undefined };
    const read = { ...(keepDeclared(declared, spec) as Omit<NwFilterArgs, "uri">), uri: state.uri };
    return state.hosts === undefined ? read : { ...read, hosts: state.hosts };
  },

  async update(_id, _olds, news) {
    const live = await liveFilter(news.uri, news.name);
    await define(news, live?.uuid);
    return { ...news };
  },

  async delete(_id, state) {
    try {
      await virsh(state.uri, ["nwfilter-undefine", "--nwfilter", state.name]);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
