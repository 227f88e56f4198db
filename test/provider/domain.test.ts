import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainArgs } from "../../libvirt/types";
import { parseDomainXml, renderDomainXml } from "../../libvirt/xml/domain";
import { BulkheadProvider } from "../../provider/provider";
import { virsh } from "../../libvirt/virsh";
import { cleanupPrefix, exists, labUri, testPrefix, urn } from "../helpers/libvirt";

const provider = new BulkheadProvider();
const prefix = testPrefix("dom");
let uri = "";

beforeAll(async () => {
  uri = await labUri();
});
afterAll(async () => {
  await cleanupPrefix(uri, prefix);
});

function domain(name: string, over: Partial<DomainArgs> = {}): DomainArgs {
  return {
    uri,
    name,
    type: "qemu",
    memory: 64,
    vcpu: 1,
    metadata: { class: "AppVM", qube: "work", netvm: "sys-firewall", template: "debian", label: "blue", layout: "test.yaml" },
    os: { type: "hvm", machine: "pc" },
    features: { acpi: true },
    devices: {
      disks: [],
      interfaces: [
        {
          type: "network",
          source: { network: `${prefix}clients` },
          mac: { address: "52:54:00:AB:CD:01" },
          model: { type: "virtio" },
          filterref: { filter: `${prefix}fw`, parameters: { IP: "10.137.1.12" } },
        },
      ],
      hostdevs: [],
      graphics: [],
      serials: [],
    },
    autostart: false,
    running: false,
    ...over,
  };
}

async function state(name: string): Promise<string> {
  return (await virsh(uri, ["domstate", "--domain", name])).trim();
}

describe("Domain", () => {
  it("creates, reads back exactly what was declared (MAC in libvirt's spelling), updates in place and deletes", async () => {
    const name = `${prefix}a`;
    const u = urn("Domain", name);
    const checked = await provider.check(u, {}, domain(name));
    expect(checked.failures).toEqual([]);
    const args = checked.inputs as DomainArgs;
    expect(args.devices.interfaces[0].mac.address).toBe("52:54:00:ab:cd:01");

    const created = await provider.create(u, args);
    const live = parseDomainXml(await virsh(uri, ["dumpxml", "--inactive", "--domain", name]));
    expect(created).toEqual({ id: live.uuid, outs: { ...args, uuid: live.uuid } });
    expect(live.metadata).toEqual(args.metadata);

    const read = await provider.read(created.id, u, created.outs);
    expect(read.props).toEqual(created.outs);
    expect(await provider.diff(created.id, u, read.props, args)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });

    const news = { ...args, memory: 96, autostart: true };
    expect(await provider.diff(created.id, u, created.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await provider.update(created.id, u, created.outs, news)).toEqual({ outs: { ...news, uuid: created.id } });
    const after = parseDomainXml(await virsh(uri, ["dumpxml", "--inactive", "--domain", name]));
    expect([after.uuid, after.memory]).toEqual([created.id, 96]);
    expect((await virsh(uri, ["dominfo", "--domain", name])).includes("Autostart:      enable")).toBe(true);

    await provider.delete(created.id, u, news);
    expect(await exists(uri, "domain", name)).toBe(false);
  });

  it("sees hand edits on read: a changed memory size and a removed filterref", async () => {
    const name = `${prefix}b`;
    const u = urn("Domain", name);
    const args = (await provider.check(u, {}, domain(name))).inputs as DomainArgs;
    const created = await provider.create(u, args);
    await virsh(uri, ["setmaxmem", "--domain", name, "--size", "80M", "--config"]);
    const noFilter = { ...args, devices: { ...args.devices, interfaces: [{ ...args.devices.interfaces[0], filterref: undefined }] } };
    const xml = renderDomainXml({ ...noFilter, memory: 80 }, { uuid: created.id });
    await virsh(uri, ["define"], { xml });

    const read = await provider.read(created.id, u, created.outs);
    const { filterref: _gone, ...iface } = args.devices.interfaces[0];
    expect(read.props).toEqual({ ...created.outs, memory: 80, devices: { ...args.devices, interfaces: [iface] } });
    expect(await provider.diff(created.id, u, read.props, args)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await provider.update(created.id, u, read.props, args);
    const repaired = await provider.read(created.id, u, created.outs);
    expect(repaired.props).toEqual(created.outs);
    await provider.delete(created.id, u, created.outs);
  });

  it("starts and stops a domain on running changes", async () => {
    const name = `${prefix}c`;
    const u = urn("Domain", name);
    const args = domain(name, { devices: { disks: [], interfaces: [], hostdevs: [], graphics: [], serials: [] }, running: true });
    const created = await provider.create(u, args);
    expect(await state(name)).toBe("running");
    expect((await provider.read(created.id, u, created.outs)).props.running).toBe(true);
    await provider.update(created.id, u, created.outs, { ...args, running: false });
    expect(await state(name)).toBe("shut off");
    await provider.update(created.id, u, { ...created.outs, running: false }, args);
    expect(await state(name)).toBe("running");
    await provider.delete(created.id, u, created.outs);
    expect(await exists(uri, "domain", name)).toBe(false);
  });

  it("undoes a create whose start fails: nothing is left behind", async () => {
    const name = `${prefix}d`;
    const u = urn("Domain", name);
    const args = domain(name, {
      devices: { disks: [], interfaces: [], hostdevs: [], graphics: [], serials: [] },
      os: { type: "hvm", kernel: "/nonexistent/bhtest-vmlinuz" },
      autostart: true,
      running: true,
    });
    await expect(provider.create(u, args)).rejects.toThrow(`virsh -c ${uri} start --domain ${name} failed`);
    expect(await exists(uri, "domain", name)).toBe(false);
  });

  it("deletes a domain that is already gone without error, and reads it as gone", async () => {
    const args = domain(`${prefix}gone`);
    const u = urn("Domain", args.name);
    await expect(provider.delete("x", u, { ...args, uuid: "x" })).resolves.toBeUndefined();
    await expect(provider.read("x", u, { ...args, uuid: "x" })).resolves.toEqual({ id: "", props: {} });
  });

  it("check names the failing property", async () => {
    const bad = domain(`${prefix}bad`);
    bad.devices.interfaces[0].mac.address = "nope";
    const result = await provider.check(urn("Domain", "bad"), {}, bad);
    expect(result.failures).toEqual([
      { property: "devices.interfaces[0].mac.address", reason: "must be a MAC address like 52:54:00:12:34:56" },
    ]);
    const result2 = await provider.check(urn("Domain", "bad"), {}, domain(`${prefix}bad`, { currentMemory: 128 }));
    expect(result2.failures).toEqual([{ property: "currentMemory", reason: "must not exceed memory (64 MiB)" }]);
  });

  it("records its owner (stack and project of the URN) in <metadata>, and touches only the domain whose UUID it gave", async () => {
    const name = `${prefix}own`;
    const u = "urn:pulumi:lab1::bulkhead::bulkhead:libvirt:Domain::own";
    const created = await provider.create(u, domain(name));
    const live = parseDomainXml(await virsh(uri, ["dumpxml", "--inactive", "--domain", name]));
    expect([live.owner, live.uuid]).toEqual([{ project: "bulkhead", stack: "lab1" }, created.id]);
    // A state naming another UUID (the domain was replaced behind the state's back): not ours.
    const other = "00000000-0000-4000-8000-0000000000aa";
    await expect(provider.read(other, u, created.outs)).resolves.toEqual({ id: "", props: {} });
    await expect(provider.update(other, u, created.outs, { ...domain(name), memory: 96 })).rejects.toThrow(
      `domain ${name} on the host has uuid ${created.id}, not ${other} (stack lab1 of project bulkhead): it is not the one this stack made`,
    );
    await provider.delete(other, u, created.outs);
    expect(await exists(uri, "domain", name)).toBe(true);
    // And a create meeting it says whose it is.
    await expect(provider.create(urn("Domain", "again"), domain(name))).rejects.toThrow(
      `domain ${name} already exists on the host (stack lab1 of project bulkhead, uuid ${created.id})`,
    );
    await provider.delete(created.id, u, created.outs);
    expect(await exists(uri, "domain", name)).toBe(false);
  });
});
