// What `npm run up`/`down` rely on besides the engine: one run per stack at a
// time, and the volumes holding data that a run left on the host.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BulkheadProvider } from "../../provider/provider";
import { WORK_DIR, lockStack } from "../../deploy/engine";
import { keptVolumes, missingOnHost, type StateResource } from "../../deploy/recovery";
import { cleanupPrefix, labUri, testPrefix, urn } from "../helpers/libvirt";

describe("lockStack", () => {
  const stack = `guards-${process.pid}`;
  const file = join(WORK_DIR, "locks", `${stack}.lock`);

  it("refuses a second run of the same stack while the first holds the lock, and frees it after", () => {
    const unlock = lockStack(stack, `npm run up ${stack}`);
    expect(() => lockStack(stack, `npm run up ${stack}`)).toThrow(
      new RegExp(`^stack ${stack} is busy: \`npm run up ${stack}\` \\(pid ${process.pid}\\) has been running since \\d{4}-.*; wait for it to finish, then run this again$`),
    );
    const other = lockStack(`${stack}-b`, "npm run up");
    other();
    unlock();
    lockStack(stack, "again")();
  });

  it("takes over the lock of a run that is gone (killed), and a torn lock file", () => {
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 17, what: "npm run up", since: "then" }));
    lockStack(stack, "npm run up")();
    writeFileSync(file, '{"pid": 1');
    lockStack(stack, "npm run up")();
    rmSync(file, { force: true });
  });
});

describe("keptVolumes", () => {
  const vol = (name: string, preserve: boolean | undefined): StateResource => ({
    urn: `urn:pulumi:dev::bulkhead::bulkhead:libvirt:Volume::${name}`,
    type: "bulkhead:libvirt:Volume",
    inputs: { uri: "qemu:///system", pool: "bulkhead", name: `${name}.qcow2`, ...(preserve === undefined ? {} : { preserve }) },
  });

  it("lists the volumes holding data that left the state (retained on the host), not the others", () => {
    const before = [vol("work-private", true), vol("mail-private", true), vol("lab-root", undefined), vol("old-private", undefined)];
    expect(keptVolumes(before, [vol("work-private", true)])).toEqual([{ name: "mail-private.qcow2", pool: "bulkhead", uri: "qemu:///system" }]);
  });
});

describe("missingOnHost", () => {
  it("names exactly the state's objects the host does not hold (by UUID, or pool and name)", async () => {
    const uri = await labUri();
    const prefix = testPrefix("miss");
    const provider = new BulkheadProvider();
    try {
      const f = await provider.create(urn("NwFilter", "f"), { uri, name: `${prefix}fw`, rules: [] });
      const state = (type: string, id: string, inputs: Record<string, unknown>): StateResource => ({ urn: `urn:pulumi:t::bulkhead::${type}::x`, type, id, inputs });
      const resources = [
        state("bulkhead:libvirt:NwFilter", f.id, { uri, name: `${prefix}fw` }),
        // Same name, but the state's UUID is not the live one: the state's object is gone.
        state("bulkhead:libvirt:NwFilter", "00000000-0000-4000-8000-0000000000cc", { uri, name: `${prefix}fw` }),
        state("bulkhead:libvirt:Domain", "00000000-0000-4000-8000-0000000000dd", { uri, name: `${prefix}gone` }),
        state("bulkhead:libvirt:Pool", "x", { uri, name: `${prefix}nopool` }),
        state("bulkhead:libvirt:Volume", "/x", { uri, pool: `${prefix}nopool`, name: `${prefix}v.qcow2` }),
      ];
      expect(await missingOnHost(resources)).toEqual([`NwFilter ${prefix}fw`, `Domain ${prefix}gone`, `Pool ${prefix}nopool`, `Volume ${prefix}v.qcow2`]);
    } finally {
      await cleanupPrefix(uri, prefix);
    }
  });
});
