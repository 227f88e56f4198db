// Test access to the lab's libvirtd: start it if needed, name test objects
// with a per-file `bhtest` prefix, and remove every object with that prefix.
import { randomBytes } from "node:crypto";
import { ensureLabHost } from "../../lab/host";
import { virsh, virshIfExists } from "../../libvirt/virsh";

export async function labUri(): Promise<string> {
  return (await ensureLabHost()).uri;
}

/** A prefix unique to one test file's run, so parallel files never clean up each other's objects. */
export function testPrefix(tag: string): string {
  // A layout prefix is letters and digits then one "-" (docs/layout.md host.prefix).
  if (!/^[a-z]{1,6}$/.test(tag)) throw new Error(`test prefix tag ${tag}: 1 to 6 lowercase letters`);
  return `bhtest${tag}${randomBytes(2).toString("hex")}-`;
}

export function urn(kind: string, name: string): string {
  return `urn:pulumi:test::bulkhead::bulkhead:libvirt:${kind}::${name}`;
}

async function names(uri: string, args: string[]): Promise<string[]> {
  return (await virsh(uri, args)).split("\n").map((s) => s.trim()).filter((s) => s !== "");
}

/** Whether an object of `kind` named `name` exists (volumes: `pool/name`). */
export async function exists(uri: string, kind: "domain" | "network" | "nwfilter" | "pool" | "volume", name: string): Promise<boolean> {
  const lookups: Record<typeof kind, string[]> = {
    domain: ["dominfo", "--domain", name],
    network: ["net-info", "--network", name],
    nwfilter: ["nwfilter-dumpxml", "--nwfilter", name],
    pool: ["pool-info", "--pool", name],
    volume: ["vol-info", "--pool", name.split("/")[0], "--vol", name.split("/").slice(1).join("/")],
  };
  return (await virshIfExists(uri, lookups[kind])) !== undefined;
}

async function quietly(p: Promise<unknown>): Promise<void> {
  await p.catch(() => undefined);
}

/** Removes every domain, network, filter, volume and pool whose name starts with `prefix`. */
export async function cleanupPrefix(uri: string, prefix: string): Promise<void> {
  if (!prefix.startsWith("bhtest")) throw new Error(`refusing to clean up non-test prefix ${prefix}`);
  const mine = (list: string[]) => list.filter((n) => n.startsWith(prefix));
  for (const d of mine(await names(uri, ["list", "--all", "--name"]))) {
    await quietly(virsh(uri, ["destroy", "--domain", d]));
    await quietly(virsh(uri, ["undefine", "--managed-save", "--snapshots-metadata", "--domain", d]));
  }
  for (const n of mine(await names(uri, ["net-list", "--all", "--name"]))) {
    await quietly(virsh(uri, ["net-destroy", "--network", n]));
    await quietly(virsh(uri, ["net-undefine", "--network", n]));
  }
  const filters = (await names(uri, ["nwfilter-list"])).map((l) => l.split(/\s+/)[1] ?? "");
  for (const f of mine(filters)) await quietly(virsh(uri, ["nwfilter-undefine", "--nwfilter", f]));
  for (const p of await names(uri, ["pool-list", "--name"])) {
    const vols = (await names(uri, ["vol-list", "--pool", p])).slice(2).map((l) => l.split(/\s+/)[0] ?? "");
    for (const v of mine(vols)) await quietly(virsh(uri, ["vol-delete", "--pool", p, "--vol", v]));
  }
  for (const p of mine(await names(uri, ["pool-list", "--all", "--name"]))) {
    await quietly(virsh(uri, ["pool-destroy", "--pool", p]));
    await quietly(virsh(uri, ["pool-undefine", "--pool", p]));
  }
}
