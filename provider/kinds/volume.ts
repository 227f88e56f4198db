// The Volume resource (VOLUME_TYPE). Create is vol-create -> fill (vol-upload of an
// imported image or of a NoCloud seed built here) -> grow, and the volume is
// deleted again if filling fails. Capacity is a minimum: it only ever grows.
import type { VolumeArgs, VolumeOutputs } from "../../libvirt/types";
import { parsePoolXml } from "../../libvirt/xml/pool";
import { ParsedVolume, parseVolumeXml, renderVolumeXml } from "../../libvirt/xml/volume";
import { imageFacts, seedFiles } from "../image";
import { downloadedImage, httpsFetcher, localImage, type Fetcher } from "../source";
import { makeIso9660 } from "../iso9660";
import { volumeSchema } from "../schemas";
import { virsh, virshIfExists, withTempFile } from "../../libvirt/virsh";
import { KindHandler, deepEqual, keepDeclared, rollback } from "./kind";

type VolumeState = VolumeArgs & VolumeOutputs;

/** Uploads can be large; give them far longer than other virsh calls. */
const UPLOAD_TIMEOUT_MS = 60 * 60 * 1000;

async function dumpxml(uri: string, pool: string, name: string): Promise<ParsedVolume | undefined> {
  const xml = await virshIfExists(uri, ["vol-dumpxml", "--pool", pool, "--vol", name]);
  return xml === undefined ? undefined : parseVolumeXml(xml);
}

async function remove(uri: string, pool: string, name: string): Promise<void> {
  await virshIfExists(uri, ["vol-delete", "--pool", pool, "--vol", name]);
}

/**
 * Target directories of file-backed pools, per URI and pool, learnt once per
 * provider process: their volumes' paths are `<target>/<name>`, as libvirt
 * makes them, which saves a `vol-path` run per volume. The pool handler
 * forgets an entry whenever it creates or removes that pool.
 */
const poolDirs = new Map<string, Promise<string | undefined>>();
const FILE_POOLS = new Set(["dir", "fs", "netfs"]);

export function forgetPoolDir(uri: string, pool: string): void {
  poolDirs.delete(`${uri}\n${pool}`);
}

async function volumePath(uri: string, pool: string, name: string): Promise<string> {
  const key = `${uri}\n${pool}`;
  let dir = poolDirs.get(key);
  if (dir === undefined) {
    dir = virsh(uri, ["pool-dumpxml", "--inactive", "--pool", pool]).then((xml) => {
      const p = parsePoolXml(xml);
      return FILE_POOLS.has(p.type) ? p.target.path.replace(/\/+$/, "") : undefined;
    });
    poolDirs.set(key, dir);
    // A failed lookup is not remembered (unless a newer one replaced it already).
    const mine = dir;
    mine.catch(() => {
      if (poolDirs.get(key) === mine) poolDirs.delete(key);
    });
  }
  const d = await dir;
  if (d !== undefined) return `${d}/${name}`;
  return (await virsh(uri, ["vol-path", "--pool", pool, "--vol", name])).trim();
}

function upload(args: VolumeArgs, file: string): Promise<string> {
  return virsh(args.uri, ["vol-upload", "--pool", args.pool, "--vol", args.name, "--file", file], { timeoutMs: UPLOAD_TIMEOUT_MS });
}

function uploadSeed(args: VolumeArgs, iso: Buffer): Promise<string> {
  return withTempFile("seed.iso", iso, (file) => upload(args, file));
}

function resize(args: VolumeArgs, capacity: number): Promise<string> {
  return virsh(args.uri, ["vol-resize", "--pool", args.pool, "--vol", args.name, "--capacity", String(capacity)]);
}

function buildSeed(args: VolumeArgs): Buffer | undefined {
  return args.seed ? makeIso9660("cidata", seedFiles(args.seed)) : undefined;
}

/** How https:// images are fetched; tests swap in a local one (there is no network here). */
let imageFetcher: Fetcher = httpsFetcher;
export function setImageFetcher(fetcher: Fetcher): void {
  imageFetcher = fetcher;
}

/**
 * Replacement-forcing changes: everything but a grown capacity, new seed contents, the
 * preserve flag and the allowed image directories (read only when a volume is made).
 */
export function volumeReplaces(changed: readonly string[], olds: VolumeArgs, news: VolumeArgs): string[] {
  return changed.filter((k) => {
    if (k === "imageDirs") return false;
    if (k === "preserve") return false;
    if (k === "seed") return olds.seed === undefined || news.seed === undefined;
    if (k === "capacity") return typeof news.capacity === "number" && news.capacity < olds.capacity;
    return true;
  });
}

const GIB = 1024 ** 3;
const size = (bytes: number) => (bytes % GIB === 0 ? `${bytes / GIB} GiB` : bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2} MiB` : `${bytes} bytes`);

/**
 * Why a change to a volume that holds data (`preserve`) is refused, per
 * property; empty when it can be applied in place. Run at check, so a preview
 * fails before any step of the update runs.
 */
export function preserveViolations(olds: Partial<VolumeArgs>, news: Partial<VolumeArgs>): { property: string; reason: string }[] {
  if ((news.preserve !== true && olds.preserve !== true) || olds.name === undefined || olds.capacity === undefined) return [];
  const changed = changedKeysOf(olds, news);
  const replaced = volumeReplaces(changed, olds as VolumeArgs, news as VolumeArgs);
  if (news.preserve !== true) {
    // Opted in by this very change: the deployed volume is still kept (retained) on replace, so
    // the opt-in must be deployed on its own first.
    return replaced.map((k) => ({
      property: k,
      reason: `volume ${olds.name} still holds a qube's data under the deployed settings: deploy \`discard_data: true\` on its own first, then this change (${k}) recreates the volume empty`,
    }));
  }
  const optIn = "or set `discard_data: true` on the qube and deploy it (then the change recreates the volume empty)";
  return replaced.map((k) => {
    if (k === "capacity") {
      return {
        property: "capacity",
        reason:
          `volume ${olds.name} holds a qube's data and would shrink from ${size(olds.capacity!)} to ${size(news.capacity!)}: ` +
          `a volume is only ever grown, since shrinking means recreating it empty. Set \`private\` back to at least ${size(olds.capacity!)}, ${optIn}`,
      };
    }
    return {
      property: k,
      reason: `volume ${olds.name} holds a qube's data and changing ${k} would replace it (delete and recreate it empty); undo that change, ${optIn}`,
    };
  });
}

function changedKeysOf(olds: object, news: object): string[] {
  const o = olds as Record<string, unknown>;
  const n = news as Record<string, unknown>;
  return [...new Set([...Object.keys(o), ...Object.keys(n)])].filter((k) => k !== "path" && !deepEqual(o[k], n[k])).sort();
}

export const volumeHandler: KindHandler<VolumeArgs, VolumeOutputs> = {
  schema: volumeSchema,
  outputKeys: ["path"],
  replaces: volumeReplaces,

  async claim(args) {
    // libvirt volumes hold no metadata and no UUID: whether the name was taken before is what recovery needs.
    return { existed: (await dumpxml(args.uri, args.pool, args.name)) !== undefined };
  },

  async create(args, _ctx, claim = {}) {
    const { uri, pool, name } = args;
    // Everything that can be checked before vol-create is, so most failures leave nothing to undo.
    let initial = args.capacity;
    let imported: ReturnType<typeof imageFacts> | undefined;
    let sourceFile: string | undefined;
    if (args.source) {
      const image = "url" in args.source
        ? await downloadedImage(args.source.url, args.source.sha256, imageFetcher)
        : await localImage(args.source.file, args.imageDirs ?? []);
      imported = image.facts;
      sourceFile = image.file;
      const shown = "url" in args.source ? args.source.url : args.source.file;
      if (imported.format !== args.format) {
        throw new Error(`source ${shown} is a ${imported.format} image, but format is ${args.format}`);
      }
      if (args.format === "raw") initial = Math.max(initial, image.size);
    }
    const iso = buildSeed(args);
    if (iso) initial = Math.max(initial, iso.length);

    const existing = claim.existed === false ? undefined : await dumpxml(uri, pool, name);
    if (existing && args.preserve) {
      // A volume holding data that is already there (kept when its qube left
      // the layout or the stack was destroyed, or by a run killed after making
      // it) is taken back as it is: its data is the point.
      return adopt(args, existing);
    } else if (existing) {
      throw new Error(
        `volume ${name} already exists in pool ${pool}, and bulkhead did not make it in this stack's state; bulkhead never overwrites a volume it cannot prove it made: remove or rename it, or give the layout another host.prefix`,
      );
    }
    const { imageDirs: _dirs, ...spec } = args;
    await virsh(uri, ["vol-create", "--pool", pool], { xml: renderVolumeXml({ ...spec, capacity: initial }) });
    try {
      // vol-upload writes over the new file from offset 0; a qcow2 source brings its own header.
      if (sourceFile !== undefined) await upload(args, sourceFile);
      if (iso) await uploadSeed(args, iso);
      if (imported?.format === "qcow2" && imported.virtualSize < args.capacity) await resize(args, args.capacity);
      const path = await volumePath(uri, pool, name);
      return { id: path, outs: { ...args, path } };
    } catch (e) {
      return rollback(e, [() => remove(uri, pool, name)]);
    }
  },

  async read(_id, state) {
    const live = await dumpxml(state.uri, state.pool, state.name);
    if (!live) return undefined;
    const { path, ...spec } = live;
    // Grown beyond the declaration (an import larger than declared) is not drift.
    if (spec.capacity >= state.capacity) spec.capacity = state.capacity;
    const declared = { name: state.name, capacity: state.capacity, format: state.format, backingStore: state.backingStore };
    const trimmed = keepDeclared(declared, spec) as Partial<VolumeArgs>;
    return {
      uri: state.uri,
      pool: state.pool,
      ...trimmed,
      ...(state.source ? { source: state.source } : {}),
      ...(state.seed ? { seed: state.seed } : {}),
      // Not on the host: kept from the state, or a refresh would drop them (and preserve
      // guards the volume's data in delete and check).
      ...(state.imageDirs !== undefined ? { imageDirs: state.imageDirs } : {}),
      ...(state.preserve !== undefined ? { preserve: state.preserve } : {}),
      path: path ?? state.path,
    } as VolumeState;
  },

  async update(_id, olds, news) {
    const live = await dumpxml(news.uri, news.pool, news.name);
    if (!live) throw new Error(`volume ${news.name} no longer exists in pool ${news.pool}; run \`pulumi refresh\``);
    const iso = deepEqual(olds.seed, news.seed) ? undefined : buildSeed(news);
    const needed = Math.max(news.capacity, iso?.length ?? 0);
    if (live.capacity < needed) await resize(news, needed);
    if (iso) await uploadSeed(news, iso);
    return { ...news, path: live.path ?? olds.path };
  },

  async delete(_id, state) {
    // Belt and braces for the engine's retainOnDelete: a volume that holds data is never deleted by the provider.
    if (state.preserve) return;
    await remove(state.uri, state.pool, state.name);
  },
};

/** Takes back an existing volume that holds data: same format, grown if the layout asks for more, never shrunk. */
async function adopt(args: VolumeArgs, live: ParsedVolume): Promise<{ id: string; outs: VolumeState }> {
  if (live.format !== undefined && live.format !== args.format) {
    throw new Error(`volume ${args.name} already exists in pool ${args.pool} as ${live.format}, not ${args.format}; bulkhead does not overwrite it (it may hold data): move it away or fix the format`);
  }
  if (live.capacity > args.capacity) {
    throw new Error(
      `volume ${args.name} already exists in pool ${args.pool} with ${size(live.capacity)}, more than the ${size(args.capacity)} declared; ` +
        `bulkhead takes it back only as it is: declare at least ${size(live.capacity)} (its data stays)`,
    );
  }
  if (live.capacity < args.capacity) await resize(args, args.capacity);
  const path = live.path ?? (await volumePath(args.uri, args.pool, args.name));
  return { id: path, outs: { ...args, path } };
}
