// The Domain resource (DOMAIN_TYPE). Create is define -> autostart -> start, undone if a
// step fails; update redefines in place under the same UUID (the new
// definition applies at the next boot) and applies autostart/running.
import { randomUUID } from "node:crypto";
import type { DomainArgs, DomainOutputs } from "../../libvirt/types";
import { ParsedDomain, parseDomainXml, renderDomainXml } from "../../libvirt/xml/domain";
import { domainSchema } from "../schemas";
import { parseInfo, unlessNotFound, virsh, virshIfExists } from "../../libvirt/virsh";
import { describeOwner } from "../../libvirt/xml/owner";
import { KindHandler, changedKeys, keepDeclared, provenByUuid, rollback } from "./kind";

type DomainState = DomainArgs & DomainOutputs;

/** Properties that live outside the domain XML. */
const LIFECYCLE = ["uri", "autostart", "running"];

/** Optional properties reported even when undeclared: hand-added ones matter for isolation. */
const ALWAYS = new Set(["qemuCommandline", "devices.interfaces[].filterref", "devices.interfaces[].port"]);

/** States in which qemu is not running. */
const STOPPED = new Set(["shut off", "crashed"]);

async function dumpxml(uri: string, name: string): Promise<ParsedDomain | undefined> {
  const xml = await virshIfExists(uri, ["dumpxml", "--inactive", "--domain", name]);
  return xml === undefined ? undefined : parseDomainXml(xml);
}

async function isRunning(uri: string, name: string): Promise<boolean> {
  const state = (await virsh(uri, ["domstate", "--domain", name])).trim();
  return !STOPPED.has(state);
}

async function setAutostart(uri: string, name: string, on: boolean): Promise<void> {
  await virsh(uri, on ? ["autostart", "--domain", name] : ["autostart", "--disable", "--domain", name]);
}

/** Powers off (if running) and undefines; a domain already gone is fine. */
async function remove(uri: string, name: string): Promise<void> {
  await unlessNotFound(
    (async () => {
      if (await isRunning(uri, name)) await virsh(uri, ["destroy", "--domain", name]);
      await virsh(uri, ["undefine", "--managed-save", "--snapshots-metadata", "--domain", name]);
    })(),
  );
}

/**
 * libvirt expands machine aliases (`pc` -> `pc-i440fx-7.2`); a live value that
 * is the expansion of the declared alias is not drift.
 */
export function sameMachine(declared: string | undefined, live: string | undefined): boolean {
  if (declared === undefined || live === undefined) return declared === live;
  if (declared === live) return true;
  const prefix = { pc: "pc-i440fx-", q35: "pc-q35-" }[declared];
  return prefix !== undefined && live.startsWith(prefix);
}

/** The live domain trimmed to what `state` declares (pure, so refresh behaviour is unit-tested). */
export function trimDomain(state: DomainArgs, live: ParsedDomain): Omit<DomainArgs, "uri" | "autostart" | "running"> {
  const { uuid: _uuid, ...spec } = live;
  if (sameMachine(state.os.machine, spec.os.machine)) spec.os = { ...spec.os, machine: state.os.machine };
  // libvirt adds default controllers (pci-root, usb); only the declared ones are compared.
  const wanted = state.devices.controllers;
  if (wanted) {
    const found = wanted.flatMap((w) => spec.devices.controllers?.find((c) => c.type === w.type && (w.index === undefined || c.index === w.index)) ?? []);
    spec.devices = { ...spec.devices, controllers: found };
  }
  const declared: Record<string, unknown> = { ...state };
  for (const k of LIFECYCLE) delete declared[k];
  delete declared.uuid;
  return keepDeclared(declared, spec, (p) => ALWAYS.has(p)) as Omit<DomainArgs, "uri" | "autostart" | "running">;
}

export const domainHandler: KindHandler<DomainArgs, DomainOutputs> = {
  schema: domainSchema,
  outputKeys: ["uuid"],
  replaces: (changed) => changed.filter((k) => k === "uri" || k === "name"),

  async claim() {
    // Chosen before define and journaled, so recovery can tell this domain from a same-named one.
    return { uuid: randomUUID() };
  },

  async create(args, ctx = {}, claim = {}) {
    const { uri, name } = args;
    // Fails if the name is taken: libvirt refuses a second definition under another UUID.
    // The UUID is chosen here, so no `domuuid` run is needed to learn it (one process per domain).
    const uuid = claim.uuid ?? randomUUID();
    try {
      await virsh(uri, ["define"], { xml: renderDomainXml(args, { uuid, owner: ctx.owner }) });
    } catch (e) {
      const other = await dumpxml(uri, name).catch(() => undefined);
      if (other === undefined || other.uuid === uuid) throw e;
      throw new Error(
        `domain ${name} already exists on the host (${describeOwner(other.owner)}, uuid ${other.uuid ?? "?"}); bulkhead defines only new domains and never takes over another's: remove it, or give the layout another host.prefix (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    try {
      if (args.autostart) await setAutostart(uri, name, true);
      if (args.running) await virsh(uri, ["start", "--domain", name]);
      return { id: uuid, outs: { ...args, uuid } };
    } catch (e) {
      return rollback(e, [() => remove(uri, name)]);
    }
  },

  async read(id, state) {
    const live = await dumpxml(state.uri, state.name);
    // A same-named domain under another UUID is not ours: ours is gone.
    if (!live || !provenByUuid(id, live.uuid)) return undefined;
    const info = parseInfo(await virsh(state.uri, ["dominfo", "--domain", state.name]));
    return {
      ...trimDomain(state, live),
      uri: state.uri,
      autostart: info.Autostart === "enable",
      running: !STOPPED.has(info.State ?? ""),
      uuid: live.uuid ?? state.uuid,
    } as DomainState;
  },

  async update(id, olds, news, ctx = {}) {
    const { uri, name } = news;
    const live = await dumpxml(uri, name);
    if (!live) throw new Error(`domain ${name} no longer exists; run \`pulumi refresh\` to recreate it`);
    if (!provenByUuid(id, live.uuid)) {
      throw new Error(`domain ${name} on the host has uuid ${live.uuid ?? "?"}, not ${id} (${describeOwner(live.owner)}): it is not the one this stack made, so bulkhead leaves it alone; run \`pulumi refresh\``);
    }
    const specChanged = changedKeys(olds, news, [...LIFECYCLE, "uuid"]).length > 0 || live.owner === undefined;
    if (specChanged) await virsh(uri, ["define"], { xml: renderDomainXml(news, { uuid: live.uuid, owner: ctx.owner }) });
    const info = parseInfo(await virsh(uri, ["dominfo", "--domain", name]));
    if ((info.Autostart === "enable") !== news.autostart) await setAutostart(uri, name, news.autostart);
    const running = !STOPPED.has(info.State ?? "");
    if (news.running && !running) await virsh(uri, ["start", "--domain", name]);
    if (!news.running && running) await virsh(uri, ["destroy", "--domain", name]);
    return { ...news, uuid: live.uuid ?? olds.uuid };
  },

  async delete(id, state) {
    const live = await dumpxml(state.uri, state.name);
    // Gone already, or a same-named domain someone else made since: not ours to remove.
    if (!live || !provenByUuid(id, live.uuid)) return;
    await remove(state.uri, state.name);
  },
};
