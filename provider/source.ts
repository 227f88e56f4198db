// Where a volume's image comes from, checked at deploy time (docs/layout.md `image`): a
// local file only if, links resolved, it is a regular file under one of the allowed image
// directories; an https:// URL only through a local cache, checked against its sha256; and
// never a qcow2 with a backing file (qemu would open that other file, anywhere). A layout is
// untrusted input: without these, a template `image: /etc/shadow` is read and uploaded.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, constants as fsc } from "node:fs";
import { mkdir, open, realpath, rename, rm, stat } from "node:fs/promises";
import { get } from "node:https";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { imageFacts, type ImageFacts } from "./image";

/** Opens an https:// URL for reading; injected in tests (no network here). */
export type Fetcher = (url: string) => Promise<Readable>;

export interface LocalImage {
  /** The real path to upload (links resolved). */
  file: string;
  facts: ImageFacts;
  size: number;
}

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const HEADER_BYTES = 32;

/** The qcow2 header's backing file offset (bytes 8..15) is non-zero when the image has one. */
export function hasBackingFile(header: Buffer): boolean {
  return header.length >= 16 && header.subarray(0, 4).equals(QCOW2_MAGIC) && header.readBigUInt64BE(8) !== 0n;
}

/** True when `file` is `dir` itself or inside it (both already real paths). */
function inside(file: string, dir: string): boolean {
  return dir === "/" || file.startsWith(`${dir.replace(/\/+$/, "")}/`);
}

/** A local image: resolved, confined to `dirs`, a regular file, its header read. */
export async function localImage(file: string, dirs: readonly string[]): Promise<LocalImage> {
  let real: string;
  try {
    real = await realpath(file);
  } catch (e) {
    throw new Error(`source.file ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((e as Error).message)}`);
  }
  const realDirs: string[] = [];
  for (const d of dirs) realDirs.push(await realpath(d).catch(() => d));
  if (!realDirs.some((d) => inside(real, d))) {
    const via = real === file ? "" : ` (it resolves to ${real})`;
    throw new Error(`source.file ${file}${via} is not under the image directories ${dirs.join(", ")}; move it there or add its directory to host.images`);
  }
  // O_NOFOLLOW: the real path was just resolved, a link swapped in since is refused.
  const fh = await open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`source.file ${file} is not a regular file; an image is a regular file`);
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, 0);
    const head = header.subarray(0, bytesRead);
    if (hasBackingFile(head)) {
      throw new Error(`source.file ${file} is a qcow2 image with a backing file; flatten it first (qemu-img convert -O qcow2 ${file} <new file>)`);
    }
    return { file: real, facts: imageFacts(head, st.size), size: st.size };
  } finally {
    await fh.close();
  }
}

/** The image cache: `$BULKHEAD_CACHE/images` (default ~/.cache/bulkhead/images). */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env["BULKHEAD_CACHE"] || join(homedir(), ".cache", "bulkhead"), "images");
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Node's https, refusing redirects (a redirect could leave https or the host reviewed). */
export const httpsFetcher: Fetcher = (url) =>
  new Promise((resolve, reject) => {
    const req = get(url, { timeout: 60_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${url}: HTTP ${res.statusCode ?? "?"}${res.headers.location ? ` (redirect to ${res.headers.location} not followed)` : ""}`));
        return;
      }
      resolve(res);
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer within 60 s`)));
    req.on("error", reject);
  });

/**
 * The cached copy of `url`, downloaded once and checked: a cached file is used only if its
 * sha256 still matches, a download is kept only if it matches.
 */
export async function downloadedImage(url: string, sha256: string, fetch: Fetcher = httpsFetcher, cache = imageCacheDir()): Promise<LocalImage> {
  if (!url.startsWith("https://")) throw new Error(`source.url ${url}: only https:// URLs are downloaded`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`source.sha256 of ${url} is not 64 lowercase hex digits`);
  const file = join(cache, sha256);
  const cached = await stat(file).then((s) => s.isFile(), () => false);
  if (!cached || (await sha256Of(file)) !== sha256) {
    await mkdir(cache, { recursive: true, mode: 0o700 });
    const partial = join(dirname(file), `.${sha256}.${process.pid}.part`);
    try {
      const hash = createHash("sha256");
      const body = await fetch(url);
      body.on("data", (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
      const got = hash.digest("hex");
      if (got !== sha256) throw new Error(`${url}: downloaded sha256 ${got}, but the layout says ${sha256}; nothing was kept`);
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
  }
  return localImage(file, [cache]);
}
