// bulkhead:libvirt:Pool. A pool of the same name and target that already
// exists is adopted, not redefined, and an adopted pool is never deleted: it
// belongs to the host (often `default`), not to this stack.
import type { PoolArgs } from "../../components/libvirt/types";
import { ParsedPool, parsePoolXml, renderPoolXml } from "../../components/libvirt/xml/pool";
import { poolSchema } from "../schemas";
import { isNotFound, parseInfo, virsh } from "../virsh";
import { KindHandler, keepDeclared, rollback } from "./kind";
import { forgetPoolDir } from "./volume";

export interface PoolOutputs {
  /** True when the pool existed before and bulkhead only uses it. */
  adopted: boolean;
}

async function dumpxml(uri: string, name: string): Promise<ParsedPool | undefined> {
  try {
    return parsePoolXml(await virsh(uri, ["pool-dumpxml", "--inactive", "--pool", name]));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
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
  try {
    if ((await info(uri, name)).State === "running") await virsh(uri, ["pool-destroy", "--pool", name]);
    await virsh(uri, ["pool-undefine", "--pool", name]);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export const poolHandler: KindHandler<PoolArgs, PoolOutputs> = {
  schema: poolSchema,
  outputKeys: ["adopted"],
  replaces: (changed) => changed.filter((k) => k !== "autostart"),

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
      return { id: i.UUID ?? name, outs: { ...args, adopted: true } };
    }
    await virsh(uri, ["pool-define"], { xml: renderPoolXml(args) });
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

  async delete(_id, state) {
    if (state.adopted) return;
    await remove(state.uri, state.name);
  },
};
