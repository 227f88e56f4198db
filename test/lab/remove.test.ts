// `npm run lab:stop` removes only what bulkhead can prove it made
// (lab/lab.ts removeBulkheadObjects). Run against objects this file makes under
// its own prefix, with the sweep confined to that prefix: the lab is shared.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainArgs, PoolArgs, VolumeArgs } from "../../libvirt/types";
import { renderNetworkXml } from "../../libvirt/xml/network";
import { removeBulkheadObjects } from "../../lab/lab";
import { BulkheadProvider } from "../../provider/provider";
import { virsh } from "../../libvirt/virsh";
import { cleanupPrefix, labUri, testPrefix } from "../helpers/libvirt";

const provider = new BulkheadProvider();
const prefix = testPrefix("rm");
const u = (kind: string, name: string) => `urn:pulumi:lab1::bulkhead::bulkhead:libvirt:${kind}::${name}`;
let uri = "";
let dir = "";

beforeAll(async () => {
  uri = await labUri();
  dir = await mkdtemp(join(tmpdir(), "bhtest-rm-"));
});
afterAll(async () => {
  await cleanupPrefix(uri, prefix);
  await rm(dir, { recursive: true, force: true });
});

function domain(name: string, network: string, filter: string, disk: string): DomainArgs {
  return {
    uri,
    name,
    type: "qemu",
    memory: 64,
    vcpu: 1,
    metadata: { class: "AppVM", qube: "work", label: "blue", layout: "test.yaml" },
    os: { type: "hvm", machine: "pc" },
    features: { acpi: true },
    devices: {
      disks: [{ type: "file", device: "disk", driver: { name: "qemu", type: "qcow2" }, source: { file: disk }, target: { dev: "vda", bus: "virtio" } }],
      interfaces: [{ type: "network", source: { network }, mac: { address: "52:54:00:ab:cd:77" }, model: { type: "virtio" }, filterref: { filter } }],
      hostdevs: [],
      graphics: [],
      serials: [],
    },
    autostart: false,
    running: false,
  };
}

async function list(args: string[], column = 0, skip = 0): Promise<string[]> {
  return (await virsh(uri, args))
    .split("\n")
    .slice(skip)
    .map((l) => l.trim().split(/\s+/)[column] ?? "")
    .filter((n) => n.startsWith(prefix))
    .sort();
}

describe("removeBulkheadObjects", () => {
  it("removes bulkhead's domains, networks, their filters, its pools and volumes, and leaves look-alikes nobody can prove are bulkhead's", async () => {
    // bulkhead's: made through the provider (owner metadata, bulkhead's pool UUID).
    const pool: PoolArgs = { uri, name: `${prefix}pool`, type: "dir", target: { path: join(dir, "pool") } };
    await provider.create(u("Pool", pool.name), pool);
    const vol: VolumeArgs = { uri, pool: pool.name, name: `${prefix}work-private.qcow2`, capacity: 1024 * 1024, format: "qcow2" };
    const { outs } = await provider.create(u("Volume", vol.name), vol);
    await provider.create(u("Network", "n"), { uri, name: `${prefix}net-clients`, port: { isolated: true } });
    await provider.create(u("NwFilter", "f"), { uri, name: `${prefix}work-fw`, rules: [] });
    await provider.create(u("Domain", "d"), domain(`${prefix}work`, `${prefix}net-clients`, `${prefix}work-fw`, outs.path));
    // Look-alikes of someone else's: names bulkhead would use, nothing marking them as bulkhead's.
    await virsh(uri, ["net-define"], { xml: renderNetworkXml({ name: `${prefix}other-clients` }) });
    await virsh(uri, ["nwfilter-define"], { xml: `<filter name='${prefix}other-fw' chain='root'/>` });
    await virsh(uri, ["pool-define-as", "--name", `${prefix}foreign`, "--type", "dir", "--target", join(dir, "foreign")]);
    await virsh(uri, ["pool-build", "--pool", `${prefix}foreign`]);
    await virsh(uri, ["pool-start", "--pool", `${prefix}foreign`]);
    await virsh(uri, ["vol-create-as", "--pool", `${prefix}foreign`, "--name", `${prefix}someones.qcow2`, "--capacity", "1M", "--format", "qcow2"]);

    const removed = await removeBulkheadObjects(uri, { scope: (n) => n.startsWith(prefix) });
    expect(removed).toEqual([
      `domain ${prefix}work`,
      `network ${prefix}net-clients`,
      `nwfilter ${prefix}work-fw`,
      `volume ${prefix}pool/${prefix}work-private.qcow2`,
      `pool ${prefix}pool`,
    ]);
    expect(await list(["net-list", "--all", "--name"])).toEqual([`${prefix}other-clients`]);
    expect(await list(["nwfilter-list"], 1, 2)).toEqual([`${prefix}other-fw`]);
    expect(await list(["pool-list", "--all", "--name"])).toEqual([`${prefix}foreign`]);
    expect(await list(["vol-list", "--pool", `${prefix}foreign`], 0, 2)).toEqual([`${prefix}someones.qcow2`]);
  });
});
