// A volume's image source at deploy time (provider/source.ts), on real files in a temp
// directory. The https download runs with an injected fetcher: there is no network here.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { volumeReplaces } from "../../provider/kinds/volume";
import { downloadedImage, hasBackingFile, localImage } from "../../provider/source";

const work = mkdtempSync(join(tmpdir(), "bulkhead-source-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const images = join(work, "images");
mkdirSync(images);

function qcow2(backingOffset: bigint): Buffer {
  const h = Buffer.alloc(512);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(h);
  h.writeUInt32BE(3, 4);
  h.writeBigUInt64BE(backingOffset, 8);
  h.writeBigUInt64BE(1n << 26n, 24);
  return h;
}

describe("localImage", () => {
  writeFileSync(join(images, "good.img"), Buffer.alloc(4096));
  writeFileSync(join(work, "secret"), "root:x:0:0\n");

  it("accepts a regular file under the image directories and reads its facts", async () => {
    expect(await localImage(join(images, "good.img"), [images])).toEqual({
      file: join(images, "good.img"),
      facts: { format: "raw", virtualSize: 4096 },
      size: 4096,
    });
  });

  it("refuses a path outside the image directories, also when .. leads out", async () => {
    await expect(localImage(`${images}/../secret`, [images])).rejects.toThrow(
      `source.file ${images}/../secret (it resolves to ${join(work, "secret")}) is not under the image directories ${images}`,
    );
  });

  it("resolves a link inside the directory that points outside, and refuses it", async () => {
    symlinkSync(join(work, "secret"), join(images, "link.img"));
    await expect(localImage(join(images, "link.img"), [images])).rejects.toThrow(
      `source.file ${join(images, "link.img")} (it resolves to ${join(work, "secret")}) is not under the image directories`,
    );
  });

  it("refuses what is not a regular file (a FIFO would block, a directory is no image)", async () => {
    execFileSync("mkfifo", [join(images, "fifo.img")]);
    mkdirSync(join(images, "dir.img"));
    await expect(localImage(join(images, "fifo.img"), [images])).rejects.toThrow("is not a regular file");
    await expect(localImage(join(images, "dir.img"), [images])).rejects.toThrow("is not a regular file");
  });

  it("refuses a qcow2 image with a backing file, accepts one without", async () => {
    writeFileSync(join(images, "backed.qcow2"), qcow2(512n));
    writeFileSync(join(images, "flat.qcow2"), qcow2(0n));
    await expect(localImage(join(images, "backed.qcow2"), [images])).rejects.toThrow("is a qcow2 image with a backing file; flatten it first");
    expect((await localImage(join(images, "flat.qcow2"), [images])).facts).toEqual({ format: "qcow2", virtualSize: 1 << 26 });
  });

  it("reads the backing file offset from a header qemu-img wrote", () => {
    const base = join(work, "base.qcow2");
    const overlay = join(work, "overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", base, "1M"]);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay]);
    const head = (f: string) => execFileSync("head", ["-c", "32", f]);
    expect(hasBackingFile(head(base))).toBe(false);
    expect(hasBackingFile(head(overlay))).toBe(true);
  });
});

describe("downloadedImage", () => {
  const cache = join(work, "cache");
  const body = Buffer.alloc(8192, 7);
  const digest = createHash("sha256").update(body).digest("hex");
  const url = "https://images.example.org/lab.img";
  let fetches = 0;
  const fetcher = async (u: string) => {
    fetches++;
    expect(u).toBe(url);
    return Readable.from([body.subarray(0, 4096), body.subarray(4096)]);
  };

  it("refuses a download whose sha256 differs and keeps nothing", async () => {
    const wrong = "0".repeat(64);
    await expect(downloadedImage(url, wrong, fetcher, cache)).rejects.toThrow(
      `${url}: downloaded sha256 ${digest}, but the layout says ${wrong}; nothing was kept`,
    );
    expect(readdirSync(cache)).toEqual([]);
  });

  it("downloads once into the cache and then uses the checked copy", async () => {
    fetches = 0;
    const first = await downloadedImage(url, digest, fetcher, cache);
    expect(first).toEqual({ file: join(cache, digest), facts: { format: "raw", virtualSize: 8192 }, size: 8192 });
    expect(await downloadedImage(url, digest, fetcher, cache)).toEqual(first);
    expect(fetches).toBe(1);
  });

  it("downloads again when the cached copy no longer matches", async () => {
    writeFileSync(join(cache, digest), "tampered");
    fetches = 0;
    await downloadedImage(url, digest, fetcher, cache);
    expect(fetches).toBe(1);
    expect(existsSync(join(cache, digest))).toBe(true);
  });

  it("downloads only https://", async () => {
    await expect(downloadedImage("http://images.example.org/x", digest, fetcher, cache)).rejects.toThrow("only https:// URLs are downloaded");
  });
});

describe("the volume's image directories", () => {
  it("are read only when a volume is made: a change never replaces it", () => {
    const v = { uri: "qemu:///system", name: "t-root", pool: "p", capacity: 1, format: "raw" as const, source: { file: "/i/a.img" }, imageDirs: ["/i"] };
    expect(volumeReplaces(["imageDirs"], v, { ...v, imageDirs: ["/i", "/j"] })).toEqual([]);
  });
});
