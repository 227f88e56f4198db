import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolArgs, VolumeArgs } from "../../components/libvirt/types";
import { parseVolumeXml } from "../../components/libvirt/xml/volume";
import { BulkheadProvider } from "../../provider/provider";
import { parseInfo, virsh } from "../../provider/virsh";
import { cleanupPrefix, exists, labUri, testPrefix, urn } from "../helpers/libvirt";

const run = promisify(execFile);
const provider = new BulkheadProvider();
const prefix = testPrefix("sto");
let uri = "";
let dir = "";
let pool: PoolArgs;
let poolId = "";

beforeAll(async () => {
  uri = await labUri();
  dir = await mkdtemp(join(tmpdir(), "bhtest-storage-"));
  pool = { uri, name: `${prefix}pool`, type: "dir", target: { path: join(dir, "pool") }, autostart: false };
  poolId = (await provider.create(urn("Pool", pool.name), pool)).id;
});
afterAll(async () => {
  await cleanupPrefix(uri, prefix);
  await rm(dir, { recursive: true, force: true });
});

async function volInfo(name: string) {
  return parseVolumeXml(await virsh(uri, ["vol-dumpxml", "--pool", pool.name, "--vol", name]));
}

describe("Pool", () => {
  it("was created, built and started; reads back; adopts an existing pool and never deletes it", async () => {
    const info = parseInfo(await virsh(uri, ["pool-info", "--pool", pool.name]));
    expect([info.UUID, info.State, info.Autostart]).toEqual([poolId, "running", "no"]);
    const u = urn("Pool", pool.name);
    expect(await provider.read(poolId, u, { ...pool, adopted: false })).toEqual({
      id: poolId,
      props: { ...pool, adopted: false },
      inputs: pool,
    });

    const adopted = await provider.create(urn("Pool", "again"), pool);
    expect(adopted).toEqual({ id: poolId, outs: { ...pool, adopted: true } });
    await provider.delete(adopted.id, u, adopted.outs);
    expect(await exists(uri, "pool", pool.name)).toBe(true);

    await expect(provider.create(u, { ...pool, target: { path: join(dir, "elsewhere") } })).rejects.toThrow(
      `pool ${pool.name} already exists with target ${pool.target.path}, not ${join(dir, "elsewhere")}`,
    );
  });

  it("a create whose build fails leaves nothing behind; deleting a pool already gone succeeds", async () => {
    const file = join(dir, "a-file");
    await writeFile(file, "x");
    const bad: PoolArgs = { uri, name: `${prefix}bad`, type: "dir", target: { path: join(file, "sub") } };
    await expect(provider.create(urn("Pool", bad.name), bad)).rejects.toThrow(`pool-build --pool ${bad.name} failed`);
    expect(await exists(uri, "pool", bad.name)).toBe(false);
    await expect(provider.delete("x", urn("Pool", bad.name), { ...bad, adopted: false })).resolves.toBeUndefined();
  });
});

describe("Volume", () => {
  it("creates a sparse qcow2 volume, grows it in place, refuses to shrink it in place, deletes it", async () => {
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}private.qcow2`, capacity: 64 * 1024 * 1024, format: "qcow2" };
    const u = urn("Volume", args.name);
    const created = await provider.create(u, args);
    const path = join(pool.target.path, args.name);
    expect(created).toEqual({ id: path, outs: { ...args, path } });
    expect(await provider.read(created.id, u, created.outs)).toEqual({ id: path, props: created.outs, inputs: args });

    const bigger = { ...args, capacity: 128 * 1024 * 1024 };
    expect(await provider.diff(path, u, created.outs, bigger)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await provider.update(path, u, created.outs, bigger);
    expect((await volInfo(args.name)).capacity).toBe(128 * 1024 * 1024);
    expect(await provider.diff(path, u, { ...bigger, path }, args)).toEqual({ changes: true, replaces: ["capacity"], deleteBeforeReplace: true });

    await provider.delete(path, u, created.outs);
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
    await expect(provider.delete(path, u, created.outs)).resolves.toBeUndefined();
    await expect(provider.read(path, u, created.outs)).resolves.toEqual({ id: "", props: {} });
  });

  it("imports a qcow2 image and grows it to the declared capacity", async () => {
    const image = join(dir, "template.qcow2");
    await run("qemu-img", ["create", "-f", "qcow2", image, "32M"]);
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}root.qcow2`, capacity: 48 * 1024 * 1024, format: "qcow2", source: { file: image } };
    const created = await provider.create(urn("Volume", args.name), args);
    const live = await volInfo(args.name);
    expect([live.format, live.capacity]).toEqual(["qcow2", 48 * 1024 * 1024]);
    expect(created.outs).toEqual({ ...args, path: live.path });
  });

  it("builds a NoCloud seed image with the declared files", async () => {
    const args: VolumeArgs = {
      uri,
      pool: pool.name,
      name: `${prefix}seed.iso`,
      capacity: 1,
      format: "raw",
      seed: { metaData: "instance-id: work\n", userData: "#cloud-config\n", files: { "bulkhead.env": "QUBE=work\n" } },
    };
    const created = await provider.create(urn("Volume", args.name), args);
    const iso = await readFile(created.outs.path);
    expect(iso.subarray(32768 + 40, 32768 + 46).toString("ascii")).toBe("cidata");
    expect(iso.includes(Buffer.from("instance-id: work\n"))).toBe(true);
    expect(iso.includes(Buffer.from("QUBE=work\n"))).toBe(true);
    expect(await provider.read(created.id, urn("Volume", args.name), created.outs)).toEqual({
      id: created.id,
      props: created.outs,
      inputs: args,
    });
  });

  it("an import from a missing file leaves nothing behind", async () => {
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}missing.qcow2`, capacity: 1024 * 1024, format: "qcow2", source: { file: join(dir, "nope.qcow2") } };
    await expect(provider.create(urn("Volume", args.name), args)).rejects.toThrow("ENOENT");
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
  });

  it("an import whose format does not match the file is refused before anything is made", async () => {
    const raw = join(dir, "disk.raw");
    await writeFile(raw, Buffer.alloc(4096));
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}wrong.qcow2`, capacity: 4096, format: "qcow2", source: { file: raw } };
    await expect(provider.create(urn("Volume", args.name), args)).rejects.toThrow(`source.file ${raw} is a raw image, but format is qcow2`);
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
  });
});
