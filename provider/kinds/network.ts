// The Network resource (NETWORK_TYPE). Any change to the definition replaces the network:
// applying it needs a restart that detaches every guest anyway, and a preview
// should say so. Only autostart is updated in place.
import type { NetworkArgs, NetworkOutputs } from "../../libvirt/types";
import { ParsedNetwork, parseNetworkXml, renderNetworkXml } from "../../libvirt/xml/network";
import { networkSchema } from "../schemas";
import { parseInfo, unlessNotFound, virsh, virshIfExists } from "../../libvirt/virsh";
import { randomUUID } from "node:crypto";
import { describeOwner } from "../../libvirt/xml/owner";
import { KindHandler, keepDeclared, provenByUuid, rollback } from "./kind";

type NetworkState = NetworkArgs & NetworkOutputs;

async function dumpxml(uri: string, name: string): Promise<ParsedNetwork | undefined> {
  const xml = await virshIfExists(uri, ["net-dumpxml", "--inactive", "--network", name]);
  return xml === undefined ? undefined : parseNetworkXml(xml);
}

async function info(uri: string, name: string): Promise<Record<string, string>> {
  return parseInfo(await virsh(uri, ["net-info", "--network", name]));
}

async function setAutostart(uri: string, name: string, on: boolean): Promise<void> {
  await virsh(uri, on ? ["net-autostart", "--network", name] : ["net-autostart", "--disable", "--network", name]);
}

/** Stops (if active) and undefines; a network already gone is fine. */
async function remove(uri: string, name: string): Promise<void> {
  await unlessNotFound(
    (async () => {
      if ((await info(uri, name)).Active === "yes") await virsh(uri, ["net-destroy", "--network", name]);
      await virsh(uri, ["net-undefine", "--network", name]);
    })(),
  );
}

export const networkHandler: KindHandler<NetworkArgs, NetworkOutputs> = {
  schema: networkSchema,
  outputKeys: ["uuid", "bridgeName"],
  replaces: (changed) => changed.filter((k) => k !== "autostart"),

  async claim() {
    return { uuid: randomUUID() };
  },

  async create(args, ctx = {}, claim = {}) {
    const { uri, name } = args;
    // Under a UUID of our own, libvirt refuses a name that is taken instead of redefining it.
    const uuid = claim.uuid ?? randomUUID();
    try {
      await virsh(uri, ["net-define"], { xml: renderNetworkXml(args, { uuid, owner: ctx.owner }) });
    } catch (e) {
      const other = await dumpxml(uri, name).catch(() => undefined);
      if (other === undefined || other.uuid === uuid) throw e;
      throw new Error(
        `network ${name} already exists on the host (${describeOwner(other.owner)}, uuid ${other.uuid ?? "?"}); bulkhead defines only new networks and never takes over another's: remove it, or give the layout another host.prefix (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    try {
      await virsh(uri, ["net-start", "--network", name]);
      if (args.autostart) await setAutostart(uri, name, true);
      const i = await info(uri, name);
      return { id: i.UUID ?? "", outs: { ...args, uuid: i.UUID ?? "", bridgeName: i.Bridge ?? "" } };
    } catch (e) {
      return rollback(e, [() => remove(uri, name)]);
    }
  },

  async read(id, state) {
    const live = await dumpxml(state.uri, state.name);
    if (!live || !provenByUuid(id, live.uuid)) return undefined;
    const i = await info(state.uri, state.name);
    const { uuid, owner: _owner, ...spec } = live;
    const declared: Record<string, unknown> = { ...state, uri: undefined, autostart: undefined, uuid: undefined, bridgeName: undefined };
    const out: Record<string, unknown> = { ...(keepDeclared(declared, spec) as object), uri: state.uri };
    if (state.autostart !== undefined) out.autostart = i.Autostart === "yes";
    return { ...out, uuid: uuid ?? state.uuid, bridgeName: i.Bridge ?? live.bridge?.name ?? "" } as NetworkState;
  },

  async update(id, olds, news) {
    const i = await info(news.uri, news.name);
    if (!provenByUuid(id, i.UUID)) {
      throw new Error(`network ${news.name} on the host has uuid ${i.UUID ?? "?"}, not ${id}: it is not the one this stack made, so bulkhead leaves it alone; run \`pulumi refresh\``);
    }
    // Undeclared autostart is left as the host has it.
    if (news.autostart !== undefined && (i.Autostart === "yes") !== news.autostart) {
      await setAutostart(news.uri, news.name, news.autostart);
    }
    return { ...news, uuid: i.UUID ?? olds.uuid, bridgeName: i.Bridge ?? olds.bridgeName };
  },

  async delete(id, state) {
    const live = await dumpxml(state.uri, state.name);
    if (!live || !provenByUuid(id, live.uuid)) return;
    await remove(state.uri, state.name);
  },
};
