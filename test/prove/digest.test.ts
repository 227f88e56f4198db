// The template image's content digest (prove/observe.ts contentDigest): a sha256 over
// the blocks that hold data, with their offsets, and the size.
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { contentDigest } from "../../prove/observe";

const dir = mkdtempSync(join(tmpdir(), "bulkhead-digest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `size` bytes with `bytes` written at `at`. */
function image(name: string, size: number, writes: { at: number; bytes: Buffer }[]): string {
  const file = join(dir, name);
  const fd = openSync(file, "w");
  for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.length, w.at);
  closeSync(fd);
  truncateSync(file, size);
  return file;
}

const MiB = 1 << 20;

describe("contentDigest", () => {
  it("is the sha256 of each non-zero 4 MiB block with its offset, then the size", async () => {
    const file = image("a", 16 * MiB, [{ at: 5 * MiB, bytes: Buffer.from("hello") }]);
    const block = Buffer.alloc(4 * MiB);
    block.write("hello", MiB);
    const word = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      return b;
    };
    const expected = createHash("sha256").update(word(4 * MiB)).update(block).update(word(16 * MiB)).digest("hex");
    expect(await contentDigest(file)).toBe(expected);
    expect(await contentDigest(file, { scanAll: true })).toBe(expected);
  });

  it("gives the same digest reading only the data ranges as reading every block", async () => {
    const file = image("g", 64 * MiB, [{ at: 3 * MiB, bytes: Buffer.from("a") }, { at: 40 * MiB + 5, bytes: Buffer.from("b") }, { at: 64 * MiB - 1, bytes: Buffer.from("c") }]);
    expect(await contentDigest(file)).toBe(await contentDigest(file, { scanAll: true }));
  });

  it("changes with one byte, with the size, and not with how zeros are stored", async () => {
    const base = await contentDigest(image("b", 16 * MiB, [{ at: 9 * MiB, bytes: Buffer.from("x") }]));
    expect(await contentDigest(image("c", 16 * MiB, [{ at: 9 * MiB, bytes: Buffer.from("y") }]))).not.toBe(base);
    expect(await contentDigest(image("d", 16 * MiB, [{ at: 9 * MiB + 1, bytes: Buffer.from("x") }]))).not.toBe(base);
    expect(await contentDigest(image("e", 20 * MiB, [{ at: 9 * MiB, bytes: Buffer.from("x") }]))).not.toBe(base);
    // Zeros written out instead of left as a hole: the same content, the same digest.
    expect(await contentDigest(image("f", 16 * MiB, [{ at: 0, bytes: Buffer.alloc(8 * MiB) }, { at: 9 * MiB, bytes: Buffer.from("x") }]))).toBe(base);
  });
});
