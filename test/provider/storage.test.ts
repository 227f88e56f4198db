import { bulkheadPoolUuid } from "../../provider/kinds/pool";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolArgs, VolumeArgs } from "../../libvirt/types";
import { parseVolumeXml } from "../../libvirt/xml/volume";
import { BulkheadProvider } from "../../provider/provider";
import { parseInfo, virsh } from "../../libvirt/virsh";
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
  it("was created, built and started under bulkhead's UUID; reads back; is shared with another layout, removed only when empty", async () => {
    const info = parseInfo(await virsh(uri, ["pool-info", "--pool", pool.name]));
    expect([info.UUID, info.State, info.Autostart]).toEqual([bulkheadPoolUuid(pool.name, pool.target.path), "running", "no"]);
    expect(poolId).toBe(info.UUID);
    const u = urn("Pool", pool.name);
    expect(await provider.read(poolId, u, { ...pool, adopted: false })).toEqual({
      id: poolId,
      props: { ...pool, adopted: false },
      inputs: pool,
    });

    // Another layout meeting a pool bulkhead made shares it (not adopted): it may remove it when it leaves last.
    const shared = await provider.create(urn("Pool", "again"), pool);
    expect(shared).toEqual({ id: poolId, outs: { ...pool, adopted: false } });
    const vol: VolumeArgs = { uri, pool: pool.name, name: `${prefix}other-layout.qcow2`, capacity: 1024 * 1024, format: "qcow2" };
    await provider.create(urn("Volume", vol.name), vol);
    await provider.delete(shared.id, u, shared.outs);
    expect(await exists(uri, "pool", pool.name)).toBe(true);

    await expect(provider.create(u, { ...pool, target: { path: join(dir, "elsewhere") } })).rejects.toThrow(
      `pool ${pool.name} already exists with target ${pool.target.path}, not ${join(dir, "elsewhere")}`,
    );
  });

  it("a pool that existed before (a host's own, another UUID) is adopted and never deleted, even empty", async () => {
    const own: PoolArgs = { uri, name: `${prefix}hostpool`, type: "dir", target: { path: join(dir, "hostpool") } };
    await virsh(uri, ["pool-define-as", "--name", own.name, "--type", "dir", "--target", own.target.path]);
    await virsh(uri, ["pool-build", "--pool", own.name]);
    await virsh(uri, ["pool-start", "--pool", own.name]);
    const adopted = await provider.create(urn("Pool", own.name), own);
    expect(adopted.outs).toEqual({ ...own, adopted: true });
    await provider.delete(adopted.id, urn("Pool", own.name), adopted.outs);
    // Even a state that lost the flag: the UUID is neither the id of a pool bulkhead made nor bulkhead's own.
    await provider.delete("not-its-uuid", urn("Pool", own.name), { ...own, adopted: false });
    expect(await exists(uri, "pool", own.name)).toBe(true);
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
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}root.qcow2`, capacity: 48 * 1024 * 1024, format: "qcow2", source: { file: image }, imageDirs: [dirname(image)] };
    const created = await provider.create(urn("Volume", args.name), args);
    const live = await volInfo(args.name);
    expect([live.format, live.capacity]).toEqual(["qcow2", 48 * 1024 * 1024]);
    expect(created.outs).toEqual({ ...args, path: live.path });
    // A refresh keeps what only the state knows (the image directories), or every preview after it would propose an update.
    expect(await provider.read(created.id, urn("Volume", args.name), created.outs)).toEqual({ id: created.id, props: created.outs, inputs: args });
  });

  it("a refresh keeps a volume's preserve flag (the state's only record that it holds data)", async () => {
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}home.qcow2`, capacity: 1024 * 1024, format: "qcow2", preserve: true };
    const created = await provider.create(urn("Volume", args.name), args);
    expect(await provider.read(created.id, urn("Volume", args.name), created.outs)).toEqual({ id: created.id, props: created.outs, inputs: args });
    await provider.delete(created.id, urn("Volume", args.name), { ...created.outs, preserve: false });
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
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}missing.qcow2`, capacity: 1024 * 1024, format: "qcow2", source: { file: join(dir, "nope.qcow2") }, imageDirs: [dir] };
    await expect(provider.create(urn("Volume", args.name), args)).rejects.toThrow(`source.file ${join(dir, "nope.qcow2")}: no such file`);
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
  });

  it("an import whose format does not match the file is refused before anything is made", async () => {
    const raw = join(dir, "disk.raw");
    await writeFile(raw, Buffer.alloc(4096));
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}wrong.qcow2`, capacity: 4096, format: "qcow2", source: { file: raw }, imageDirs: [dirname(raw)] };
    await expect(provider.create(urn("Volume", args.name), args)).rejects.toThrow(`source ${raw} is a raw image, but format is qcow2`);
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
  });

  it("a volume holding data (preserve): shrink and replacement refused at check, grown in place with its data, never deleted, taken back at create", async () => {
    const MiB = 1024 * 1024;
    const args: VolumeArgs = { uri, pool: pool.name, name: `${prefix}data.qcow2`, capacity: 64 * MiB, format: "qcow2", preserve: true };
    const u = urn("Volume", args.name);
    const created = await provider.create(u, args);
    const path = created.outs.path;
    // A pattern in the guest-visible data (qemu-io writes through the qcow2 layer).
    await run("qemu-io", ["-f", "qcow2", "-c", "write -P 0xa5 1M 64k", path]);
    const pattern = () => run("qemu-io", ["-f", "qcow2", "-c", "read -P 0xa5 1M 64k", path]).then((r) => r.stdout.includes("read 65536/65536 bytes"));
    expect(await pattern()).toBe(true);

    // Shrinking, another format, another pool: each refused with what to do, before any step.
    const smaller = { ...args, capacity: 32 * MiB };
    expect((await provider.check(u, created.outs, smaller)).failures).toEqual([
      {
        property: "capacity",
        reason:
          `volume ${args.name} holds a qube's data and would shrink from 64 MiB to 32 MiB: a volume is only ever grown, since shrinking means recreating it empty. ` +
          "Set `private` back to at least 64 MiB, or set `discard_data: true` on the qube and deploy it (then the change recreates the volume empty)",
      },
    ]);
    expect((await provider.check(u, created.outs, { ...args, format: "raw" })).failures?.map((f) => f.property)).toEqual(["format"]);
    // Opting in and shrinking in one change: the deployed volume is still retained, so refused too;
    // once the opt-in is deployed (no preserve in the state), the shrink is allowed, as a replacement.
    expect((await provider.check(u, created.outs, { ...smaller, preserve: undefined })).failures).toEqual([
      {
        property: "capacity",
        reason: `volume ${args.name} still holds a qube's data under the deployed settings: deploy \`discard_data: true\` on its own first, then this change (capacity) recreates the volume empty`,
      },
    ]);
    expect((await provider.check(u, { ...created.outs, preserve: undefined }, { ...smaller, preserve: undefined })).failures).toEqual([]);
    // Growing is fine, and done in place: the data stays.
    const bigger = { ...args, capacity: 128 * MiB };
    expect((await provider.check(u, created.outs, bigger)).failures).toEqual([]);
    expect(await provider.diff(path, u, created.outs, bigger)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await provider.update(path, u, created.outs, bigger);
    expect((await volInfo(args.name)).capacity).toBe(128 * MiB);
    expect(await pattern()).toBe(true);

    // Never deleted by the provider; a create takes it back as it is (grown if asked, never shrunk).
    await provider.delete(path, u, { ...bigger, path });
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(true);
    const again = await provider.create(urn("Volume", "again"), { ...args, capacity: 256 * MiB });
    expect(again).toEqual({ id: path, outs: { ...args, capacity: 256 * MiB, path } });
    expect((await volInfo(args.name)).capacity).toBe(256 * MiB);
    expect(await pattern()).toBe(true);
    await expect(provider.create(urn("Volume", "smaller"), args)).rejects.toThrow(
      `volume ${args.name} already exists in pool ${pool.name} with 256 MiB, more than the 64 MiB declared; bulkhead takes it back only as it is: declare at least 256 MiB (its data stays)`,
    );
    // Without preserve, an existing volume is never overwritten.
    await expect(provider.create(urn("Volume", "plain"), { ...args, preserve: undefined })).rejects.toThrow(
      `volume ${args.name} already exists in pool ${pool.name}, and bulkhead did not make it in this stack's state`,
    );
    expect(await pattern()).toBe(true);
    // Opted in: deleted.
    await provider.delete(path, u, { ...args, preserve: undefined, path });
    expect(await exists(uri, "volume", `${pool.name}/${args.name}`)).toBe(false);
  });
});
