// The one place that talks to libvirt: `virsh -c <uri> …` run with an argument
// array (never a shell string), XML handed over through a private temp file.
// A long-running process (the provider) can instead keep one virsh session per
// URI open and feed it commands on stdin (libvirt/session.ts), which saves a
// process start and a libvirt connection per call; `useSessions()` turns that on.
import { appendFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execResult } from "./exec";
import { uriProblem } from "./uri";

export interface VirshOptions {
  /** XML document for `define`-style commands: written to a temp file and passed as `--file <path>`. */
  xml?: string;
  /** Milliseconds before virsh is killed; default two minutes (uploads can be slow). */
  timeoutMs?: number;
}

/** A failed virsh run, carrying the command line and virsh's own message. */
export class VirshError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | string | null,
  ) {
    super(
      // Say plainly when there is no libvirt to talk to, rather than which command noticed.
      /failed to connect to the hypervisor/.test(stderr)
        ? `cannot connect to libvirt at ${args[1] ?? "?"} (is libvirtd running there, and is the URI right?): ${stderr.trim().split("\n").pop() ?? ""}`
        : `virsh ${args.join(" ")} failed: ${stderr.trim() || `exit code ${String(exitCode)}`}`,
    );
    this.name = "VirshError";
  }
}

/**
 * Runs virsh against `uri` and resolves to its stdout. A URI outside the allow-list is
 * refused here, before any process starts, whoever passed it (a hand-written program, a
 * state file, `audit --uri`).
 */
export async function virsh(uri: string, args: readonly string[], opts: VirshOptions = {}): Promise<string> {
  // libvirt's in-memory test driver runs no program and opens no socket: `audit`/`ls --uri test:///default`
  // (an empty host) stays possible; layouts and the provider's inputs still take only the contract's URIs.
  const problem = uri === "test:///default" ? undefined : uriProblem(uri);
  if (problem !== undefined) throw new Error(`refusing to run virsh: ${problem}`);
  if (opts.xml === undefined) return dispatch(uri, [...args], opts.timeoutMs, undefined);
  const xml = opts.xml;
  return withTempFile("object.xml", xml, (file) => dispatch(uri, [...args, "--file", file], opts.timeoutMs, xml));
}

/** Runs one command through a session when sessions are on and the arguments allow it, else as its own process. */
export interface SessionPool {
  run(uri: string, args: readonly string[], timeoutMs: number): Promise<string> | undefined;
}
let sessions: SessionPool | undefined;

/** Routes every later virsh call through `pool` (undefined: one process per call again). */
export function useSessions(pool: SessionPool | undefined): void {
  sessions = pool;
}

function dispatch(uri: string, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS, xml: string | undefined): Promise<string> {
  logCall(uri, args, xml);
  return sessions?.run(uri, args, timeoutMs) ?? run(["-c", uri, ...args], timeoutMs);
}

/**
 * With BULKHEAD_VIRSH_LOG set, one line per call (`<object name from the XML or -> | -c <uri> <args…>`),
 * the format of the bench's logging wrapper (bench/virshlog.ts), which cannot see commands sent to a session.
 */
function logCall(uri: string, args: readonly string[], xml: string | undefined): void {
  const file = process.env["BULKHEAD_VIRSH_LOG"];
  if (file === undefined || file === "") return;
  const name = xml === undefined ? undefined : (/<name>([^<]*)<\/name>/.exec(xml) ?? /<filter name="([^"]*)"/.exec(xml))?.[1];
  appendFileSync(file, `${name ?? "-"} | ${["-c", uri, ...args].join(" ")}\n`);
}

/** Writes `data` to a fresh private directory, calls `fn` with the file's path, then removes it. */
export async function withTempFile<T>(name: string, data: string | Buffer, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "bulkhead-"));
  try {
    const path = join(dir, name);
    await writeFile(path, data, { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

async function run(args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const r = await execResult("virsh", args, { timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  if (!r.ok) throw new VirshError(args, r.stderr, r.code);
  return r.stdout;
}

/**
 * True when virsh failed because the named object does not exist. virsh 9
 * reports a failed lookup as "failed to get <kind> '<name>'", which no other
 * failure of a lookup-by-name command says.
 */
function isNotFound(err: unknown): boolean {
  return err instanceof VirshError && /failed to get (domain|network|nwfilter|pool|vol) /.test(err.stderr);
}

/** Resolves to what `p` resolves to, or to undefined when it failed because the named object does not exist. */
export async function unlessNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** `virsh(uri, args)`, or undefined when libvirt says the named object does not exist. */
export function virshIfExists(uri: string, args: readonly string[], opts: VirshOptions = {}): Promise<string | undefined> {
  return unlessNotFound(virsh(uri, args, opts));
}

/** Parses `Key: value` lines (dominfo, net-info, pool-info) into a map. */
export function parseInfo(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}
