// The one way bulkhead runs a program: execFile with an argument array (never a
// shell string), a timeout and an output cap, and a failure that carries the
// program's stderr. Everything that runs a program and waits for it to end (the
// virsh runner, the lab, prove, scripts, the bench) goes through here; the few
// that stream or feed stdin (a virsh session, the engine, the language host)
// spawn, and `spawnLines` is the shared one for "run long, show each line".
import { execFile, spawn, spawnSync } from "node:child_process";

export interface ExecOptions {
  /** Milliseconds before the program is killed; default one minute. */
  timeoutMs?: number;
  /** Bytes of stdout or stderr kept before the program is killed; default 64 MiB. */
  maxBuffer?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** What a finished program did: never an exception, for callers that check a postcondition. */
export interface ExecResult {
  ok: boolean;
  /** The exit code, a signal or error code (e.g. "ENOENT"), or null when unknown. */
  code: number | string | null;
  stdout: string;
  stderr: string;
  /** Node's own message when the program failed (killed, not found, non-zero exit). */
  message: string;
}

/** A program that failed: its command line, its stderr and its exit code. */
export class ExecError extends Error {
  constructor(
    readonly file: string,
    readonly args: readonly string[],
    readonly result: ExecResult,
  ) {
    super(`${file} ${args.join(" ")} failed: ${result.stderr.trim() || result.message}`);
    this.name = "ExecError";
  }
  get stderr(): string {
    return this.result.stderr;
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

/** Runs `file` with `args` and resolves to what happened; never rejects. */
export function execResult(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: opts.maxBuffer ?? DEFAULT_MAX_BUFFER, env: opts.env, cwd: opts.cwd },
      (error, stdout, stderr) => {
        const raw = (error as (Error & { code?: unknown; signal?: unknown }) | null) ?? undefined;
        const code = raw === undefined ? 0 : typeof raw.code === "number" || typeof raw.code === "string" ? raw.code : typeof raw.signal === "string" ? raw.signal : null;
        resolve({ ok: raw === undefined, code, stdout: String(stdout), stderr: String(stderr), message: raw?.message ?? "" });
      },
    );
  });
}

/** Runs `file` with `args` and resolves to its stdout; rejects with an ExecError on failure. */
export async function exec(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execResult(file, args, opts);
  if (!r.ok) throw new ExecError(file, args, r);
  return r.stdout;
}

/** Runs a long program, handing each non-empty line it prints (stdout and stderr) to `line`; the error holds the last 20. */
export function spawnLines(file: string, args: readonly string[], line: (text: string) => void, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(file, [...args], { stdio: ["ignore", "pipe", "pipe"], env: opts.env ?? process.env, cwd: opts.cwd });
    let tail: string[] = [];
    const onData = (d: Buffer) => {
      for (const l of d.toString().split("\n")) {
        if (l.trim() === "") continue;
        line(l);
        tail = [...tail.slice(-20), l];
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", rej);
    child.on("close", (code) => (code === 0 ? res() : rej(new Error(`${file} ${args.join(" ")} failed (exit ${String(code)}):\n${tail.join("\n")}`))));
  });
}

/** `execResult` for the few synchronous callers (the docs generator); same options and result. */
export function execResultSync(file: string, args: readonly string[], opts: ExecOptions = {}): ExecResult {
  const r = spawnSync(file, [...args], { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: opts.maxBuffer ?? DEFAULT_MAX_BUFFER, env: opts.env, cwd: opts.cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const code = r.error !== undefined ? ((r.error as Error & { code?: string }).code ?? null) : r.status ?? r.signal;
  return { ok: r.error === undefined && r.status === 0, code, stdout: r.stdout ?? "", stderr: r.stderr ?? "", message: r.error?.message ?? (r.status === 0 ? "" : `exit ${String(code)}`) };
}
