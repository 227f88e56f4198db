// The one place that builds the environment the Pulumi engine runs in and runs
// `pulumi` with argument arrays: the pinned CLI and our language host on PATH,
// a local file backend under the checkout, a passphrase with a lab default, and
// nothing from the user's ~/.pulumi or the web.
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { ownerOfUrn } from "../libvirt/xml/owner";
import { JOURNAL_DIR_ENV, type JournalEntry, journalKey, journalsOf, readJournal, unfinishedCreates } from "../provider/journal";
import { unwrapSecrets } from "../provider/kinds/kind";
import { HANDLERS } from "../provider/provider";
import { isNotFound, virsh } from "../libvirt/virsh";

/** The checkout (dist/scripts/pulumi.js and scripts/pulumi.ts both sit two levels down). */
export const REPO = resolve(__dirname, "..", existsSync(resolve(__dirname, "..", "package.json")) ? "" : "..");

/** The Pulumi project's name (Pulumi.yaml), the second part of every URN. */
export const PROJECT = "bulkhead";

/** Project-owned working directory (gitignored): state, PULUMI_HOME, pictures. */
export const WORK_DIR = join(REPO, ".bulkhead");

/**
 * Passphrase of the lab stacks' secrets when PULUMI_CONFIG_PASSPHRASE is unset.
 * The lab holds no secret worth one; on real hosts set your own.
 */
export const LAB_PASSPHRASE = "bulkhead-lab";

export interface Engine {
  /** Directory holding `pulumi` (and the plugins). */
  dir: string;
  env: Record<string, string>;
}

/** The backend: BULKHEAD_BACKEND_URL (from `extra`, then our environment), else file:// under .bulkhead. */
export function backendUrl(extra: Record<string, string> = {}): string {
  return extra["BULKHEAD_BACKEND_URL"] ?? process.env["BULKHEAD_BACKEND_URL"] ?? `file://${join(WORK_DIR, "state")}`;
}

/** Where the provider journals its creates (provider/journal.ts): next to the state it complements. */
export function journalDir(extra: Record<string, string> = {}): string {
  const backend = backendUrl(extra);
  return backend.startsWith("file://") ? join(backend.slice("file://".length), ".bulkhead-journal") : join(WORK_DIR, "journal");
}

/**
 * Whether the engine checkpoints the whole state after every step (Pulumi's
 * default) or once at the end of a run (`PULUMI_SKIP_CHECKPOINTS`). The file
 * backend rewrites and re-verifies the entire state at each checkpoint, a cost
 * that grows with the square of the layout: at 200 qubes it made the deploy
 * 5x slower than libvirt. bulkhead skips them and keeps crash safety with the
 * provider's create journal instead; BULKHEAD_CHECKPOINTS=every-step restores
 * Pulumi's behaviour. An engine that stops normally (success, failure, Ctrl-C)
 * still writes its state; only a killed one loses it, and then the journal
 * says what to remove.
 */
export function checkpointEnv(extra: Record<string, string> = {}): Record<string, string> {
  const mode = extra["BULKHEAD_CHECKPOINTS"] ?? process.env["BULKHEAD_CHECKPOINTS"] ?? "end-of-run";
  if (mode === "every-step") return { PULUMI_SKIP_CHECKPOINTS: "false" };
  if (mode !== "end-of-run") throw new Error(`BULKHEAD_CHECKPOINTS=${mode}: use end-of-run (the default) or every-step`);
  return { PULUMI_SKIP_CHECKPOINTS: "true" };
}

let cachedEngineDir: string | undefined;

/** Runs scripts/engine.sh (instant once the CLI is cached; builds it otherwise). */
export function engineDir(): Promise<string> {
  if (cachedEngineDir !== undefined) return Promise.resolve(cachedEngineDir);
  return new Promise((res, rej) => {
    // Building the CLI the first time takes minutes; its progress goes to our stderr.
    const child = spawn(join(REPO, "scripts", "engine.sh"), [], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", rej);
    child.on("close", (code) => {
      const dir = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || dir === "") rej(new Error(`scripts/engine.sh failed (exit ${String(code)})`));
      else res((cachedEngineDir = dir));
    });
  });
}

/** The engine's environment: ours only, every PULUMI_* from the caller dropped except the passphrase and backend overrides. */
export async function engine(extra: Record<string, string> = {}): Promise<Engine> {
  const dir = await engineDir();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("PULUMI_")) env[k] = v;
  }
  const backend = backendUrl(extra);
  if (backend.startsWith("file://")) mkdirSync(backend.slice("file://".length), { recursive: true });
  Object.assign(env, {
    // The engine's dir first (it expects its language host next to it), then the
    // repo's bin for pulumi-resource-bulkhead.
    PATH: [...dir.split(delimiter), join(REPO, "bin"), process.env["PATH"] ?? "/usr/bin:/bin"].join(delimiter),
    PULUMI_HOME: join(WORK_DIR, "home"),
    PULUMI_BACKEND_URL: backend,
    PULUMI_CONFIG_PASSPHRASE: process.env["PULUMI_CONFIG_PASSPHRASE"] ?? LAB_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SUPPRESS_COPILOT_LINK: "true",
    [JOURNAL_DIR_ENV]: journalDir(extra),
    ...checkpointEnv(extra),
  });
  Object.assign(env, extra);
  return { dir: dir.split(delimiter)[0] ?? dir, env };
}

export interface PulumiResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface PulumiOptions {
  /** Copy the engine's output to ours while it runs (default true). */
  stream?: boolean;
  cwd?: string;
  env?: Record<string, string>;
  /** Called with the child once started (tests kill it mid-run). */
  onSpawn?: (pid: number) => void;
}

/** Runs `pulumi <args> --non-interactive` in the project; resolves with its exit status and output. */
export async function pulumi(args: readonly string[], opts: PulumiOptions = {}): Promise<PulumiResult> {
  const eng = await engine(opts.env);
  return new Promise((res, rej) => {
    const child = spawn(join(eng.dir, "pulumi"), [...args, "--non-interactive"], {
      cwd: opts.cwd ?? REPO,
      env: eng.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (opts.stream !== false) process.stdout.write(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.stream !== false) process.stderr.write(d);
    });
    child.on("error", rej);
    child.on("close", (code, signal) => {
      // An engine that succeeded wrote its state and every object is in it: its journal has
      // served. A failed one keeps it: a provider killed mid-create (the engine then fails the
      // step without knowing what was made) leaves objects only the journal names, and the next
      // recoverInterrupted removes those its state does not hold.
      if (signal === null && code === 0 && child.pid !== undefined) dropJournals(eng.env[JOURNAL_DIR_ENV] ?? "", child.pid);
      res({ code, signal, stdout, stderr });
    });
  });
}

/** Like `pulumi`, but throws with the engine's last lines when it fails. */
export async function mustPulumi(args: readonly string[], opts: PulumiOptions = {}): Promise<PulumiResult> {
  const r = await pulumi(args, opts);
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new Error(`pulumi ${args.join(" ")} failed (exit ${String(r.code ?? r.signal)})${opts.stream === false ? `:\n${tail}` : ""}`);
  }
  return r;
}

/** Selects `stack`, creating it on the local backend if it does not exist. */
export async function selectStack(stack: string, opts: PulumiOptions = {}): Promise<void> {
  await mustPulumi(["stack", "select", "--create", stack], { ...opts, stream: false });
}

/** Runs a program and returns its stdout (no shell; throws on failure). */
export function capture(file: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((res, rej) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`${file} ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`));
      else res(String(stdout));
    });
  });
}

/** Removes the journals of one engine run (every stack it touched). */
function dropJournals(dir: string, enginePid: number): void {
  if (dir === "" || !existsSync(dir)) return;
  for (const f of readdirSync(dir).filter((n) => n.endsWith(`.${enginePid}.jsonl`))) rmSync(join(dir, f), { force: true });
}

/** Where the local backend keeps a stack's lock files. */
function lockDir(stack: string, extra: Record<string, string> = {}): string | undefined {
  const backend = backendUrl(extra);
  if (!backend.startsWith("file://")) return undefined;
  return join(backend.slice("file://".length), ".pulumi", "locks", "organization", "bulkhead", stack);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

interface PendingOperation {
  type: string;
  resource: { urn: string; type: string; id?: string; inputs?: Record<string, unknown> };
}

/** Kinds whose id is the UUID bulkhead gives the object before defining it. */
const UUID_KINDS = new Set(["bulkhead:libvirt:Domain", "bulkhead:libvirt:Network", "bulkhead:libvirt:NwFilter"]);

/** Order in which half-made objects are removed: users before what they use. */
const REMOVAL_ORDER = ["bulkhead:libvirt:Domain", "bulkhead:libvirt:Volume", "bulkhead:libvirt:NwFilter", "bulkhead:libvirt:Network", "bulkhead:libvirt:Pool"];

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
    if (o.type === "bulkhead:libvirt:Pool" && !(await poolIsEmpty(String(o.inputs["uri"]), name))) continue;
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
  try {
    const lines = (await virsh(uri, ["vol-list", "--pool", name])).split("\n").slice(2).filter((l) => l.trim() !== "");
    return lines.length === 0;
  } catch (e) {
    if (isNotFound(e)) return true;
    throw e;
  }
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
  return resources.filter((x) => x.type.startsWith("bulkhead:libvirt:"));
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
      p = virsh(uri, args).then(
        (out) => new Set(out.split("\n").map((l) => pick(l.trim())).filter((x): x is string => x !== undefined && x !== "")),
        (e: unknown) => {
          if (isNotFound(e)) return new Set<string>();
          throw e;
        },
      );
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
      case "bulkhead:libvirt:Domain":
        present = (await list(uri, ["list", "--all", "--uuid"], same)).has(id);
        break;
      case "bulkhead:libvirt:Network":
        present = (await list(uri, ["net-list", "--all", "--uuid"], same)).has(id);
        break;
      case "bulkhead:libvirt:NwFilter":
        present = (await list(uri, ["nwfilter-list"], (l) => l.split(/\s+/)[0])).has(id);
        break;
      case "bulkhead:libvirt:Pool":
        present = (await list(uri, ["pool-list", "--all", "--name"], same)).has(name);
        break;
      case "bulkhead:libvirt:Volume":
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
    .filter((r) => r.type === "bulkhead:libvirt:Volume" && r.inputs?.["preserve"] === true && !still.has(r.urn))
    .map((r) => ({ name: String(r.inputs?.["name"]), pool: String(r.inputs?.["pool"]), uri: String(r.inputs?.["uri"]) }));
}

/**
 * One `npm run up`/`down` per stack at a time, on this checkout: a lock file
 * made with O_EXCL holding the owner's pid; a lock whose process is gone is
 * taken over. Throws a clear message when another run holds it.
 */
export function lockStack(stack: string, what: string): () => void {
  const dir = join(WORK_DIR, "locks");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stack.replace(/[^A-Za-z0-9._-]/g, "_")}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }), { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let held: { pid?: number; what?: string; since?: string } = {};
      try {
        held = JSON.parse(readFileSync(file, "utf8")) as typeof held;
      } catch {
        // A torn lock file: its writer died mid-write.
      }
      if (held.pid !== undefined && alive(held.pid)) {
        throw new Error(
          `stack ${stack} is busy: \`${held.what ?? "npm run up"}\` (pid ${held.pid}) has been running since ${held.since ?? "?"}; wait for it to finish, then run this again`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the lock ${file}`);
}
