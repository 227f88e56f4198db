// Crash recovery and state-versus-host checks for `npm run up`/`down`: a stack
// whose engine was killed mid-run made deployable again (stale lock, half-made
// objects the provider journaled, a refresh), the state's objects the host lacks,
// and the data volumes a run left on the host. Runs the engine through deploy/engine.ts.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ownerOfUrn } from "../libvirt/xml/owner";
import { type JournalEntry, journalKey, journalsOf, readJournal, unfinishedCreates } from "../provider/journal";
import { unwrapSecrets } from "../provider/kinds/kind";
import { HANDLERS } from "../provider/provider";
import { virshIfExists } from "../libvirt/virsh";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE, isLibvirtType } from "../libvirt/tokens";
import { PROJECT, alive, backendUrl, journalDir, lockDir, mustPulumi, type PulumiOptions } from "./engine";

interface PendingOperation {
  type: string;
  resource: { urn: string; type: string; id?: string; inputs?: Record<string, unknown> };
}

/** Kinds whose id is the UUID bulkhead gives the object before defining it. */
const UUID_KINDS = new Set([DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE]);

/** Order in which half-made objects are removed: users before what they use. */
const REMOVAL_ORDER = [DOMAIN_TYPE, VOLUME_TYPE, NWFILTER_TYPE, NETWORK_TYPE, POOL_TYPE];

/**
 * Makes a stack whose engine was killed mid-run deployable again: removes the
 * lock a dead engine left (same host, process gone); removes from the host each
 * object whose creation the state does not hold — journaled by the provider of
 * a dead engine (provider/journal.ts), or a pending create when checkpoints
 * were on — since it may be half-made (a partial image upload must not be
 * adopted); then refreshes the state from the host, which also forgets what
 * the killed run deleted and reads what it changed. Returns what it did;
 * nothing when the stack is clean.
 */
export async function recoverInterrupted(stack: string, opts: PulumiOptions = {}): Promise<string[]> {
  const did: string[] = [];
  const dir = lockDir(stack, opts.env);
  if (dir !== undefined && existsSync(dir)) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
      const lock = JSON.parse(readFileSync(join(dir, f), "utf8")) as { pid?: number; hostname?: string };
      if (lock.hostname === hostname() && lock.pid !== undefined && !alive(lock.pid)) {
        for (const file of [f, `${f}.attrs`]) rmSync(join(dir, file), { force: true });
        did.push(`removed the lock of engine pid ${lock.pid}, which is gone`);
      }
    }
  }
  did.push(...repairCheckpointFiles(stack, opts.env));
  const journals = journalsOf(journalDir(opts.env), journalKey(`urn:pulumi:${stack}::${PROJECT}::`)).filter((j) => !alive(j.enginePid));
  const exported = await mustPulumi(["stack", "export", "--stack", stack], { ...opts, stream: false });
  const deployment = (JSON.parse(exported.stdout) as { deployment?: { pending_operations?: PendingOperation[]; resources?: { urn: string }[] } })
    .deployment;
  const pending = deployment?.pending_operations ?? [];
  if (pending.length === 0 && journals.length === 0) return did;

  const inState = new Set((deployment?.resources ?? []).map((r) => r.urn));
  const orphans = new Map<string, Orphan>();
  const journaled = new Map<string, JournalEntry>();
  for (const j of journals) {
    for (const e of unfinishedCreates(readJournal(j.file))) if (!inState.has(e.urn)) journaled.set(e.urn, e);
  }
  for (const op of pending.filter((o) => o.type === "creating")) {
    // A pending create with checkpoints on: its id, or the journal's claim, names the object.
    const e = journaled.get(op.resource.urn);
    orphans.set(op.resource.urn, {
      urn: op.resource.urn,
      type: op.resource.type,
      id: op.resource.id || e?.id || e?.claim?.uuid || "",
      inputs: unwrapSecrets(op.resource.inputs ?? {}) as Record<string, unknown>,
      existed: e?.claim?.existed,
    });
  }
  for (const e of journaled.values()) {
    if (orphans.has(e.urn) || e.type === undefined) continue;
    orphans.set(e.urn, { urn: e.urn, type: e.type, id: e.id ?? e.claim?.uuid ?? "", inputs: e.inputs ?? {}, existed: e.claim?.existed });
  }
  const order = [...orphans.values()].sort((a, b) => REMOVAL_ORDER.indexOf(a.type) - REMOVAL_ORDER.indexOf(b.type));
  for (const o of order) {
    const handler = HANDLERS[o.type];
    if (handler === undefined) continue;
    const kind = o.type.split(":").pop() ?? o.type;
    const name = String(o.inputs["name"]);
    // Proof that the run made it: the name was free before the create (pools, volumes), or a UUID
    // the run gave it (domains, networks, filters: their delete removes only the object that has it).
    const proven = o.existed === false || (o.existed === undefined && UUID_KINDS.has(o.type) && o.id !== "");
    if (!proven) {
      // Adopted (the name was taken before the run: a host's pool, a qube's kept data), or a
      // journal too old to say: not provably the run's own, so it stays; the next create adopts or refuses it.
      did.push(`left ${kind} ${name} alone: ${o.existed === true ? "it existed before the interrupted run (adopted)" : "the journal cannot prove the interrupted run made it"}`);
      continue;
    }
    if (o.type === POOL_TYPE && !(await poolIsEmpty(String(o.inputs["uri"]), name))) continue;
    // UUID kinds delete only the object whose live UUID is the journaled one; a volume the run
    // made holds nothing yet (a partial upload at worst), so its preserve flag does not apply.
    await handler.delete(o.id, { ...o.inputs, adopted: false, preserve: false }, { owner: ownerOfUrn(o.urn) });
    did.push(`removed ${kind} ${name}, which the interrupted run made and its state does not hold`);
  }
  await mustPulumi(["refresh", "--yes", "--clear-pending-creates", "--stack", stack], { ...opts, stream: false });
  for (const j of journals) rmSync(j.file, { force: true });
  did.push(`refreshed the state from the host (${pending.length} pending operation(s) cleared)`);
  return did;
}

interface Orphan {
  urn: string;
  type: string;
  id: string;
  inputs: Record<string, unknown>;
  /** From the journal's claim: whether the name was taken before the create (undefined: not known). */
  existed?: boolean;
}

/**
 * A file backend killed while it rotated the checkpoint's backup can leave an
 * empty `.attrs` sidecar (the engine then fails with "failed to load
 * checkpoint: EOF") and `.tmp` files; sidecars are optional, so empty ones go.
 */
function repairCheckpointFiles(stack: string, extra: Record<string, string> = {}): string[] {
  const backend = backendUrl(extra);
  if (!backend.startsWith("file://")) return [];
  const dir = join(backend.slice("file://".length), ".pulumi", "stacks", "bulkhead");
  if (!existsSync(dir)) return [];
  const did: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${stack}.json`))) {
    const file = join(dir, f);
    if ((f.endsWith(".attrs") && statSync(file).size === 0) || f.endsWith(".tmp")) {
      rmSync(file, { force: true });
      did.push(`removed the half-written backend file ${f}`);
    }
  }
  return did;
}

async function poolIsEmpty(uri: string, name: string): Promise<boolean> {
  const out = await virshIfExists(uri, ["vol-list", "--pool", name]);
  return out === undefined || out.split("\n").slice(2).filter((l) => l.trim() !== "").length === 0;
}

/** A libvirt resource as the stack's state holds it. */
export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  retainOnDelete?: boolean;
}

/** The libvirt resources in a stack's state (`pulumi stack export`). */
export async function stateResources(stack: string, opts: PulumiOptions = {}): Promise<StateResource[]> {
  const r = await mustPulumi(["stack", "export", "--stack", stack], { ...opts, stream: false });
  const resources = (JSON.parse(r.stdout) as { deployment?: { resources?: StateResource[] } }).deployment?.resources ?? [];
  return resources.filter((x) => isLibvirtType(x.type));
}

/**
 * The state's objects that the host does not hold (by UUID for domains,
 * networks, filters and pools, by pool and name for volumes): a handful of
 * list calls, so `npm run up` can tell a host that lost objects behind the
 * state's back (a wiped lab, a hand-deleted volume) and refresh first.
 */
export async function missingOnHost(resources: readonly StateResource[]): Promise<string[]> {
  const lists = new Map<string, Promise<Set<string>>>();
  const list = (uri: string, args: string[], pick: (line: string) => string | undefined): Promise<Set<string>> => {
    const key = `${uri}\n${args.join(" ")}`;
    let p = lists.get(key);
    if (p === undefined) {
      p = virshIfExists(uri, args).then((out = "") => new Set(out.split("\n").map((l) => pick(l.trim())).filter((x): x is string => x !== undefined && x !== "")));
      lists.set(key, p);
    }
    return p;
  };
  const same = (l: string) => l;
  const missing: string[] = [];
  for (const r of resources) {
    const s = { ...(r.inputs ?? {}), ...(r.outputs ?? {}) } as Record<string, unknown>;
    const uri = String(s["uri"] ?? "");
    const name = String(s["name"] ?? "");
    const id = (r.id ?? "").toLowerCase();
    let present: boolean;
    switch (r.type) {
      case DOMAIN_TYPE:
        present = (await list(uri, ["list", "--all", "--uuid"], same)).has(id);
        break;
      case NETWORK_TYPE:
        present = (await list(uri, ["net-list", "--all", "--uuid"], same)).has(id);
        break;
      case NWFILTER_TYPE:
        present = (await list(uri, ["nwfilter-list"], (l) => l.split(/\s+/)[0])).has(id);
        break;
      case POOL_TYPE:
        present = (await list(uri, ["pool-list", "--all", "--name"], same)).has(name);
        break;
      case VOLUME_TYPE:
        present = (await list(uri, ["vol-list", "--pool", String(s["pool"] ?? "")], (l) => l.split(/\s+/)[0])).has(name);
        break;
      default:
        present = true;
    }
    if (!present) missing.push(`${r.type.split(":").pop()} ${name}`);
  }
  return missing;
}

/** Volumes holding a qube's data that were in `before` and are not in `after`: kept on the host, forgotten by the state. */
export function keptVolumes(before: readonly StateResource[], after: readonly StateResource[]): { name: string; pool: string; uri: string }[] {
  const still = new Set(after.map((r) => r.urn));
  return before
    .filter((r) => r.type === VOLUME_TYPE && r.inputs?.["preserve"] === true && !still.has(r.urn))
    .map((r) => ({ name: String(r.inputs?.["name"]), pool: String(r.inputs?.["pool"]), uri: String(r.inputs?.["uri"]) }));
}

