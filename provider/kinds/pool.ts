// The Pool resource (POOL_TYPE). A pool of the same name and target that already
// exists is adopted, not redefined, and an adopted pool is never deleted: it
// belongs to the host (often `default`), not to this stack. A pool bulkhead
// defines gets a UUID derived from its name and directory (bulkheadPoolUuid),
// so any layout that later meets it knows bulkhead made it: layouts share it
// (all default to `bulkhead`), and whichever leaves it last, empty, removes it.
import type { PoolArgs } from "../../libvirt/types";
import { ParsedPool, parsePoolXml, renderPoolXml } from "../../libvirt/xml/pool";
import { poolSchema } from "../schemas";
import { parseInfo, unlessNotFound, virsh, virshIfExists } from "../../libvirt/virsh";
import { createHash } from "node:crypto";
import { Claim, KindHandler, keepDeclared, rollback } from "./kind";
import { forgetPoolDir } from "./volume";

export interface PoolOutputs {
  /** True when the pool existed before and bulkhead only uses it. */
  adopted: boolean;
}

async function dumpxml(uri: string, name: string): Promise<ParsedPool | undefined> {
  const xml = await virshIfExists(uri, ["pool-dumpxml", "--inactive", "--pool", name]);
  return xml === undefined ? undefined : parsePoolXml(xml);
}

async function info(uri: string, name: string): Promise<Record<string, string>> {
  return parseInfo(await virsh(uri, ["pool-info", "--pool", name]));
}

async function setAutostart(uri: string, name: string, on: boolean): Promise<void> {
  await virsh(uri, on ? ["pool-autostart", "--pool", name] : ["pool-autostart", "--disable", "--pool", name]);
}

/** Stops (if running) and undefines; the directory and its files are left alone. */
async function remove(uri: string, name: string): Promise<void> {
  forgetPoolDir(uri, name);
  await unlessNotFound(
    (async () => {
      if ((await info(uri, name)).State === "running") await virsh(uri, ["pool-destroy", "--pool", name]);
      await virsh(uri, ["pool-undefine", "--pool", name]);
    })(),
  );
}

/** Namespace of bulkhead's pool UUIDs (a random v4 UUID fixed once). */
const POOL_UUID_NAMESPACE = "5f0c9a44-0f4e-4c43-9d0b-3c8e0b7f2a61";

/** The RFC 4122 version-5 UUID bulkhead gives the pool `name` at `path`. */
export function bulkheadPoolUuid(name: string, path: string): string {
  const ns = Buffer.from(POOL_UUID_NAMESPACE.replace(/-/g, ""), "hex");
  const h = createHash("sha1").update(ns).update(`pool\n${name}\n${path.replace(/\/+$/, "")}`, "utf8").digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

async function volumeCount(uri: string, name: string): Promise<number> {
  return (await virsh(uri, ["vol-list", "--pool", name])).split("\n").slice(2).filter((l) => l.trim() !== "").length;
}

export const poolHandler: KindHandler<PoolArgs, PoolOutputs> = {
  schema: poolSchema,
  outputKeys: ["adopted"],
  replaces: (changed) => changed.filter((k) => k !== "autostart"),

  async claim(args): Promise<Claim> {
    return { existed: (await dumpxml(args.uri, args.name)) !== undefined, uuid: bulkheadPoolUuid(args.name, args.target.path) };
  },

  async create(args) {
    const { uri, name } = args;
    forgetPoolDir(uri, name);
    const existing = await dumpxml(uri, name);
    if (existing) {
      if (existing.target.path !== args.target.path) {
        throw new Error(`pool ${name} already exists with target ${existing.target.path}, not ${args.target.path}`);
      }
      const i = await info(uri, name);
      if (i.State !== "running") await virsh(uri, ["pool-start", "--pool", name]);
      if (args.autostart !== undefined && (i.Autostart === "yes") !== args.autostart) await setAutostart(uri, name, args.autostart);
      // Another layout's bulkhead pool is shared, not adopted: the last layout to leave it removes it.
      const shared = existing.uuid === bulkheadPoolUuid(name, args.target.path);
      return { id: i.UUID ?? name, outs: { ...args, adopted: !shared } };
    }
    await virsh(uri, ["pool-define"], { xml: renderPoolXml(args, { uuid: bulkheadPoolUuid(name, args.target.path) }) });
    try {
      await virsh(uri, ["pool-build", "--pool", name]);
      await virsh(uri, ["pool-start", "--pool", name]);
      if (args.autostart) await setAutostart(uri, name, true);
      const i = await info(uri, name);
      return { id: i.UUID ?? name, outs: { ...args, adopted: false } };
    } catch (e) {
      return rollback(e, [() => remove(uri, name)]);
    }
  },

  async read(_id, state) {
    const live = await dumpxml(state.uri, state.name);
    if (!live) return undefined;
    const { uuid: _uuid, ...spec } = live;
    const declared: Record<string, unknown> = { ...state, uri: undefined, autostart: undefined, adopted: undefined };
    const out: Record<string, unknown> = { ...(keepDeclared(declared, spec) as object), uri: state.uri };
    if (state.autostart !== undefined) out.autostart = (await info(state.uri, state.name)).Autostart === "yes";
    return { ...out, adopted: state.adopted ?? false } as PoolArgs & PoolOutputs;
  },

  async update(_id, olds, news) {
    const i = await info(news.uri, news.name);
    // Undeclared autostart is left as the host has it.
    if (news.autostart !== undefined && (i.Autostart === "yes") !== news.autostart) {
      await setAutostart(news.uri, news.name, news.autostart);
    }
    return { ...news, adopted: olds.adopted ?? false };
  },

  async delete(id, state) {
    if (state.adopted) return;
    const live = await dumpxml(state.uri, state.name);
    if (!live) return;
    // Ours: the UUID we were given (an older bulkhead's random one) or bulkhead's own.
    const ours = live.uuid !== undefined && (live.uuid === id || live.uuid === bulkheadPoolUuid(state.name, state.target.path));
    if (!ours) return;
    // Still holding volumes (another layout's, or a qube's data kept on purpose): not the last user.
    if ((await info(state.uri, state.name)).State === "running" && (await volumeCount(state.uri, state.name)) > 0) return;
    await remove(state.uri, state.name);
  },
};
