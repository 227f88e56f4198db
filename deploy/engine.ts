// The engine driver: the one place that builds the environment the Pulumi engine
// runs in and runs `pulumi` with argument arrays: the pinned CLI and our language
// host on PATH, a local file backend under the checkout, a passphrase with a lab
// default, and nothing from the user's ~/.pulumi or the web; plus the per-stack
// run lock of `npm run up`/`down`. Crash recovery is deploy/recovery.ts.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { exec } from "../libvirt/exec";
import { JOURNAL_DIR_ENV } from "../provider/journal";

/** The checkout (dist/deploy/engine.js and deploy/engine.ts both sit two levels down). */
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
  return exec(file, args, { timeoutMs, maxBuffer: 16 * 1024 * 1024 });
}

/** Removes the journals of one engine run (every stack it touched). */
function dropJournals(dir: string, enginePid: number): void {
  if (dir === "" || !existsSync(dir)) return;
  for (const f of readdirSync(dir).filter((n) => n.endsWith(`.${enginePid}.jsonl`))) rmSync(join(dir, f), { force: true });
}

/** Where the local backend keeps a stack's lock files. */
export function lockDir(stack: string, extra: Record<string, string> = {}): string | undefined {
  const backend = backendUrl(extra);
  if (!backend.startsWith("file://")) return undefined;
  return join(backend.slice("file://".length), ".pulumi", "locks", "organization", "bulkhead", stack);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
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
