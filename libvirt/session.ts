// Persistent virsh sessions: one long-lived `virsh -c <uri>` per URI (or a few),
// fed commands on stdin, so a provider run pays one process start and one
// libvirt connection per URI instead of one per call.
//
// Safety. A command line is parsed by virsh's own tokenizer (vsh.c
// vshCommandStringGetArg), not by a shell; every argument is sent inside single
// quotes, where that tokenizer takes every byte literally up to the next `'`, and
// a `'` in a value is sent as `'\''` (close, escaped quote, reopen). So `;`, `#`,
// spaces, `"`, `\`, `$(…)` and leading `--` reach virsh as part of one value,
// exactly as in an argument array. Two things cannot be quoted: virsh reads a
// session's stdin line by line through readline, which would end the line at a
// newline and interpret control characters as editing keys (TAB completes, ^A
// moves the cursor). A call with any byte outside printable ASCII therefore
// does not use a session: it runs as its own process with an argument array,
// as every call did before (`sessionArgs` returns undefined).
//
// Framing. Per command the session is sent three lines: `echo S<nonce>`, the
// command, `echo --err E<nonce>`. stdout then holds readline's echo of each
// line (the prompt and the line, mangled when long) and the outputs; stderr
// holds the command's errors and then `error: E<nonce>`. The command's stdout
// is what lies between the line after `S<nonce>` (the echo of the command) and
// the prompt that echoes `echo --err E<nonce>`; it failed when it wrote an
// `error:` line to stderr (virsh's own marker; in a session there is no exit code).
// Commands run one at a time per session, so nothing interleaves.
//
// Faults. A session that exits (virsh killed, libvirtd gone) fails the command
// in flight with its stderr, and the next command starts a new session; a
// command that outlives its timeout kills its session the same way. Idle
// sessions do not keep the process alive (unref), busy ones do.
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { VirshError, type SessionPool } from "./virsh";

/** Every byte printable ASCII: safe to send on a readline line inside single quotes. */
const SAFE = /^[\x20-\x7e]*$/;

/** The command line a session is sent for `args`, or undefined when a value cannot travel on one line. */
export function sessionArgs(args: readonly string[]): string | undefined {
  if (args.length === 0 || !args.every((a) => SAFE.test(a))) return undefined;
  return args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
}

interface Pending {
  line: string;
  args: readonly string[];
  timeoutMs: number;
  resolve(out: string): void;
  reject(e: Error): void;
}

const PROMPTS = ["virsh # ", "virsh > "];

/** One `virsh -c <uri>` process; commands are queued and run one at a time. */
export class VirshSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private out = "";
  private err = "";
  private current: (Pending & { nonce: string; timer: NodeJS.Timeout }) | undefined;
  private readonly queue: Pending[] = [];
  private counter = 0;
  private readonly salt = randomBytes(6).toString("hex");
  /** Sessions started so far (1 + restarts), for tests and the bench. */
  starts = 0;

  constructor(
    readonly uri: string,
    private readonly bin = "virsh",
  ) {}

  /** Commands queued or running. */
  get load(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Runs one command (an argument array; see `sessionArgs`) and resolves to its stdout. */
  run(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const line = sessionArgs(args);
    if (line === undefined) return Promise.reject(new Error("virsh session: arguments must be printable ASCII (use a separate process)"));
    return new Promise((resolve, reject) => {
      this.queue.push({ line, args, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  /** Ends the session (the queued commands fail). */
  close(): void {
    for (const p of this.queue.splice(0)) p.reject(new Error("virsh session closed"));
    this.stop(new Error("virsh session closed"));
  }

  private start(): ChildProcessWithoutNullStreams {
    // No -q: it would also drop the table headers some callers parse, which argv mode prints.
    const child = spawn(this.bin, ["-c", this.uri], {
      stdio: ["pipe", "pipe", "pipe"],
      // readline: no user key bindings, no terminal escape sequences.
      env: { ...process.env, INPUTRC: "/dev/null", TERM: "dumb" },
    });
    this.starts++;
    this.out = "";
    this.err = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      if (this.child !== child) return;
      this.out += d;
      this.settle();
    });
    child.stderr.on("data", (d: string) => {
      if (this.child !== child) return;
      this.err += d;
      this.settle();
    });
    child.stdin.on("error", () => undefined); // EPIPE after an exit: reported by the exit handler
    child.on("error", (e) => this.child === child && this.stop(e));
    child.on("exit", (code, signal) => {
      if (this.child !== child) return;
      this.stop(new VirshError(["-c", this.uri, ...(this.current?.args ?? [])], `${this.err.trim()}\nvirsh session exited (${signal ?? `code ${String(code)}`})`.trim(), code ?? signal));
    });
    this.child = child;
    return child;
  }

  /** Fails the command in flight with `e`, kills the process; the queue continues in a new one. */
  private stop(e: Error): void {
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.kill("SIGKILL");
      this.ref(child, false);
    }
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.reject(e);
    }
    this.pump();
  }

  private ref(child: ChildProcessWithoutNullStreams, on: boolean): void {
    for (const h of [child, child.stdout, child.stderr, child.stdin] as { ref?(): void; unref?(): void }[]) {
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) {
      if (!this.current && this.child) this.ref(this.child, false);
      return;
    }
    const p = this.queue.shift()!;
    const child = this.child ?? this.start();
    this.ref(child, true);
    const nonce = `${this.salt}${(this.counter++).toString(36)}`;
    const timer = setTimeout(() => {
      this.stop(new VirshError(["-c", this.uri, ...p.args], `timed out after ${p.timeoutMs} ms (virsh session killed)`, "ETIMEDOUT"));
    }, p.timeoutMs);
    this.current = { ...p, nonce, timer };
    // Bytes from before this command (the welcome banner) are not this command's.
    child.stdin.write(`echo S${nonce}\n${p.line}\necho --err E${nonce}\n`);
  }

  private settle(): void {
    const cur = this.current;
    if (!cur) return;
    const start = `echo S${cur.nonce}\nS${cur.nonce}\n`;
    const endOut = `echo --err E${cur.nonce}\n`;
    const endErr = `error: E${cur.nonce}\n`;
    const s = this.out.indexOf(start);
    const e = s < 0 ? -1 : this.out.indexOf(endOut, s + start.length);
    const ee = this.err.indexOf(endErr);
    if (e < 0 || ee < 0) return;
    // The first line after the start marker is readline's echo of the command.
    const body = this.out.slice(s + start.length, e);
    const nl = body.indexOf("\n");
    let stdout = nl < 0 ? "" : body.slice(nl + 1);
    const prompt = PROMPTS.find((p) => stdout.endsWith(p));
    stdout = prompt ? stdout.slice(0, -prompt.length) : stdout.slice(0, stdout.lastIndexOf("\n") + 1);
    const stderr = this.err.slice(0, ee);
    this.out = this.out.slice(e + endOut.length);
    this.err = this.err.slice(ee + endErr.length);
    clearTimeout(cur.timer);
    this.current = undefined;
    if (/^error: /m.test(stderr)) cur.reject(new VirshError(["-c", this.uri, ...cur.args], stderr, 1));
    else cur.resolve(stdout);
    this.pump();
  }
}

/**
 * Up to `size` sessions per URI; a command goes to an idle session, or a new
 * one while fewer than `size` exist, else to the least loaded.
 */
export class VirshSessions implements SessionPool {
  private readonly byUri = new Map<string, VirshSession[]>();

  constructor(
    readonly size = 1,
    private readonly bin = "virsh",
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`virsh sessions: size must be a whole number of at least 1, not ${size}`);
  }

  run(uri: string, args: readonly string[], timeoutMs: number): Promise<string> | undefined {
    if (sessionArgs(args) === undefined) return undefined;
    let list = this.byUri.get(uri);
    if (!list) this.byUri.set(uri, (list = []));
    let s = list.find((x) => x.load === 0);
    if (!s && list.length < this.size) list.push((s = new VirshSession(uri, this.bin)));
    s ??= list.reduce((a, b) => (b.load < a.load ? b : a));
    return s.run(args, timeoutMs);
  }

  /** Processes started so far, over all URIs (restarts included). */
  get starts(): number {
    return [...this.byUri.values()].flat().reduce((n, s) => n + s.starts, 0);
  }

  close(): void {
    for (const s of [...this.byUri.values()].flat()) s.close();
    this.byUri.clear();
  }
}

/**
 * The provider's pool from the environment: BULKHEAD_VIRSH_SESSIONS unset means
 * `fallback` sessions per URI, `0` none (a process per call), N that many.
 */
export function sessionsFromEnv(env: NodeJS.ProcessEnv, fallback: number): VirshSessions | undefined {
  const v = env["BULKHEAD_VIRSH_SESSIONS"];
  const n = v === undefined || v === "" ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`BULKHEAD_VIRSH_SESSIONS must be a whole number (0: a virsh process per call), not ${v}`);
  return n === 0 ? undefined : new VirshSessions(n);
}
