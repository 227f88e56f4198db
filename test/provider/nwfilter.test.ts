import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NwFilterArgs } from "../../libvirt/types";
import { parseNwFilterXml, renderNwFilterXml } from "../../libvirt/xml/nwfilter";
import { BulkheadProvider } from "../../provider/provider";
import { virsh } from "../../libvirt/virsh";
import { cleanupPrefix, exists, labUri, testPrefix, urn } from "../helpers/libvirt";

const provider = new BulkheadProvider();
const prefix = testPrefix("fw");
let uri = "";

beforeAll(async () => {
  uri = await labUri();
});
afterAll(async () => {
  await cleanupPrefix(uri, prefix);
});

function filter(name: string): NwFilterArgs {
  return {
    uri,
    name,
    chain: "root",
    filterrefs: [{ filter: "clean-traffic", parameters: { IP: "10.137.1.12" } }],
    rules: [
      { action: "accept", direction: "out", priority: 100, protocol: "udp", match: { dstipaddr: "10.137.1.1", dstportstart: 53, dstportend: 53 } },
      { action: "drop", direction: "out", priority: 1000, protocol: "all" },
    ],
  };
}

describe("NwFilter", () => {
  it("creates, reads, updates live under the same UUID and deletes", async () => {
    const name = `${prefix}a`;
    const args = filter(name);
    const u = urn("NwFilter", name);
    const created = await provider.create(u, args);
    expect(created.outs).toEqual(args);
    const live = parseNwFilterXml(await virsh(uri, ["nwfilter-dumpxml", "--nwfilter", name]));
    expect(created.id).toBe(live.uuid);
    expect(live.rules).toEqual(args.rules);

    expect(await provider.read(created.id, u, created.outs)).toEqual({ id: created.id, props: args, inputs: args });

    const news = { ...args, rules: [{ action: "accept", direction: "out", priority: 100, protocol: "all" } as const] };
    expect(await provider.diff(created.id, u, created.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await provider.update(created.id, u, created.outs, news)).toEqual({ outs: news });
    const after = parseNwFilterXml(await virsh(uri, ["nwfilter-dumpxml", "--nwfilter", name]));
    expect(after.uuid).toBe(created.id);
    expect(after.rules).toEqual(news.rules);

    await provider.delete(created.id, u, news);
    expect(await exists(uri, "nwfilter", name)).toBe(false);
  });

  it("sees a filter redefined by hand on read", async () => {
    const name = `${prefix}b`;
    const args = filter(name);
    const u = urn("NwFilter", name);
    const created = await provider.create(u, args);
    const handEdited = { ...args, rules: [args.rules[1]] };
    await virsh(uri, ["nwfilter-define"], { xml: renderNwFilterXml(handEdited, { uuid: created.id }) });
    const read = await provider.read(created.id, u, created.outs);
    expect(read.props).toEqual(handEdited);
    expect(await provider.diff(created.id, u, read.props, args)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    await provider.delete(created.id, u, created.outs);
  });

  it("treats a rename as a replacement that deletes first, and unchanged inputs as no change", async () => {
    const args = filter(`${prefix}c`);
    const u = urn("NwFilter", "c");
    expect(await provider.diff("id", u, args, { ...args, name: `${prefix}d` })).toEqual({
      changes: true,
      replaces: ["name"],
      deleteBeforeReplace: true,
    });
    expect(await provider.diff("id", u, args, filter(`${prefix}c`))).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("refuses to take over an existing filter, and deleting one already gone succeeds", async () => {
    const name = `${prefix}e`;
    const u = urn("NwFilter", name);
    const created = await provider.create(u, filter(name));
    await expect(provider.create(u, filter(name))).rejects.toThrow(`already exists with uuid ${created.id}`);
    await provider.delete(created.id, u, created.outs);
    await expect(provider.delete(created.id, u, created.outs)).resolves.toBeUndefined();
    await expect(provider.read(created.id, u, created.outs)).resolves.toEqual({ id: "", props: {} });
  });

  it("touches only the filter it made: a same-named filter under another UUID is left alone by read, update and delete", async () => {
    const name = `${prefix}f`;
    const u = urn("NwFilter", name);
    const created = await provider.create(u, filter(name));
    const notOurs = "00000000-0000-4000-8000-000000000001";
    await expect(provider.read(notOurs, u, created.outs)).resolves.toEqual({ id: "", props: {} });
    await expect(provider.update(notOurs, u, created.outs, filter(name))).rejects.toThrow(
      `nwfilter ${name} on the host has uuid ${created.id}, not ${notOurs}: it is not the one this stack made`,
    );
    await provider.delete(notOurs, u, created.outs);
    expect(await exists(uri, "nwfilter", name)).toBe(true);
    await provider.delete(created.id, u, created.outs);
    expect(await exists(uri, "nwfilter", name)).toBe(false);
  });
});
