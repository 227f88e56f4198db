import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkArgs } from "../../libvirt/types";
import { parseNetworkXml } from "../../libvirt/xml/network";
import { BulkheadProvider } from "../../provider/provider";
import { parseInfo, virsh } from "../../libvirt/virsh";
import { cleanupPrefix, exists, labUri, testPrefix, urn } from "../helpers/libvirt";

const provider = new BulkheadProvider();
const prefix = testPrefix("net");
let uri = "";

beforeAll(async () => {
  uri = await labUri();
});
afterAll(async () => {
  await cleanupPrefix(uri, prefix);
});

describe("Network", () => {
  it("creates an isolated network with no host address, reads it, updates autostart and deletes", async () => {
    const name = `${prefix}clients`;
    const u = urn("Network", name);
    const args: NetworkArgs = { uri, name, port: { isolated: true }, autostart: false };
    const created = await provider.create(u, args);
    const info = parseInfo(await virsh(uri, ["net-info", "--network", name]));
    expect(created).toEqual({ id: info.UUID, outs: { ...args, uuid: info.UUID, bridgeName: info.Bridge } });
    expect(info.Active).toBe("yes");
    const live = parseNetworkXml(await virsh(uri, ["net-dumpxml", "--inactive", "--network", name]));
    expect([live.ips, live.forward, live.port]).toEqual([undefined, undefined, { isolated: true }]);
    // Its owner, in the network's own <metadata> (libvirt 9 keeps it): the URN's stack and project.
    expect(live.owner).toEqual({ project: "bulkhead", stack: "test" });
    // Someone else's network under that name (another UUID) is not this one.
    const other = "00000000-0000-4000-8000-0000000000bb";
    await expect(provider.read(other, u, created.outs)).resolves.toEqual({ id: "", props: {} });
    await provider.delete(other, u, created.outs);
    expect(await exists(uri, "network", name)).toBe(true);

    expect(await provider.read(created.id, u, created.outs)).toEqual({ id: created.id, props: created.outs, inputs: args });

    const news = { ...args, autostart: true };
    expect(await provider.diff(created.id, u, created.outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await provider.update(created.id, u, created.outs, news)).toEqual({ outs: { ...created.outs, autostart: true } });
    expect(parseInfo(await virsh(uri, ["net-info", "--network", name])).Autostart).toBe("yes");

    expect(await provider.diff(created.id, u, created.outs, { ...args, mtu: 1400 })).toEqual({
      changes: true,
      replaces: ["mtu"],
      deleteBeforeReplace: true,
    });

    await provider.delete(created.id, u, news);
    expect(await exists(uri, "network", name)).toBe(false);
    await expect(provider.delete(created.id, u, news)).resolves.toBeUndefined();
  });

  it("a create that fails leaves nothing behind", async () => {
    const name = `${prefix}bad`;
    // The bridge name is taken by another network.
    const taken = `${prefix}br`;
    await provider.create(urn("Network", taken), { uri, name: taken, bridge: { name: "bhtestbr0" } });
    await expect(provider.create(urn("Network", name), { uri, name, bridge: { name: "bhtestbr0" } })).rejects.toThrow(
      "bhtestbr0",
    );
    expect(await exists(uri, "network", name)).toBe(false);
  });
});
