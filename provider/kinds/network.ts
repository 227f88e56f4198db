// bulkhead:libvirt:Network. Any change to the definition replaces the network:
// applying it needs a restart that detaches every guest anyway, and a preview
// should say so. Only autostart is updated in place.
import type { NetworkArgs, NetworkOutputs } from "../../components/libvirt/types";
import { ParsedNetwork, parseNetworkXml, renderNetworkXml } from "../../components/libvirt/xml/network";
import { networkSchema } from "../schemas";
import { isNotFound, parseInfo, virsh } from "../virsh";
import { KindHandler, keepDeclared, rollback } from "./kind";

type NetworkState = NetworkArgs & NetworkOutputs;

async function dumpxml(uri: string, name: string): Promise<ParsedNetwork | undefined> {
  try {
    return parseNetworkXml(await virsh(uri, ["net-dumpxml", "--inactive", "--network", name]));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function info(uri: string, name: string): Promise<Record<string, string>> {
  return parseInfo(await virsh(uri, ["net-info", "--network", name]));
}

async function setAutostart(uri: string, name: string, on: boolean): Promise<void> {
  await virsh(uri, on ? ["net-autostart", "--network", name] : ["net-autostart", "--disable", "--network", name]);
}

/** Stops (if active) and undefines; a network already gone is fine. */
async function remove(uri: string, name: string): Promise<void> {
  try {
    if ((await info(uri, name)).Active === "yes") await virsh(uri, ["net-destroy", "--network", name]);
    await virsh(uri, ["net-undefine", "--network", name]);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export const networkHandler: KindHandler<NetworkArgs, NetworkOutputs> = {
  schema: networkSchema,
  outputKeys: ["uuid", "bridgeName"],
  replaces: (changed) => changed.filter((k) => k !== "autostart"),

  async create(args) {
    const { uri, name } = args;
    await virsh(uri, ["net-define"], { xml: renderNetworkXml(args) });
    try {
      await virsh(uri, ["net-start", "--network", name]);
      if (args.autostart) await setAutostart(uri, name, true);
      const i = await info(uri, name);
      return { id: i.UUID ?? "", outs: { ...args, uuid: i.UUID ?? "", bridgeName: i.Bridge ?? "" } };
    } catch (e) {
      return rollback(e, [() => remove(uri, name)]);
    }
  },

  async read(_id, state) {
    const live = await dumpxml(state.uri, state.name);
    if (!live) return undefined;
    const i = await info(state.uri, state.name);
    const { uuid, ...spec } = live;
    const declared: Record<string, unknown> = { ...state, uri: undefined, autostart: undefined, uuid: undefined, bridgeName: undefined };
    const out: Record<string, unknown> = { ...(keepDeclared(declared, spec) as object), uri: state.uri };
    if (state.autostart !== undefined) out.autostart = i.Autostart === "yes";
    return { ...out, uuid: uuid ?? state.uuid, bridgeName: i.Bridge ?? live.bridge?.name ?? "" } as NetworkState;
  },

  async update(_id, olds, news) {
    const i = await info(news.uri, news.name);
    // Undeclared autostart is left as the host has it.
    if (news.autostart !== undefined && (i.Autostart === "yes") !== news.autostart) {
      await setAutostart(news.uri, news.name, news.autostart);
    }
    return { ...news, uuid: i.UUID ?? olds.uuid, bridgeName: i.Bridge ?? olds.bridgeName };
  },

  async delete(_id, state) {
    await remove(state.uri, state.name);
  },
};
