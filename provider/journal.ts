// The provider's create journal: one append-only file per engine run, so that
// an engine killed mid-run (SIGKILL, OOM, power) can be recovered even though
// bulkhead runs the engine without per-step checkpoints (see
// deploy/engine.ts: rewriting the whole state after every step made a
// 200-qube deploy 5x slower than libvirt itself). What a killed run made but
// its state never recorded is exactly what this journal says was being
// created; `recoverInterrupted` removes it and refreshes the rest.
//
// One short line per create, appended before and after the libvirt calls:
// constant cost per step, unlike a checkpoint of the whole state.
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Set by deploy/engine.ts for the engines it runs; unset means no journal. */
export const JOURNAL_DIR_ENV = "BULKHEAD_JOURNAL_DIR";

export interface JournalEntry {
  /** `creating` before the libvirt calls; `created` or `failed` (nothing left behind) after. */
  op: "creating" | "created" | "failed";
  urn: string;
  /** Resource type token; on `creating` only. */
  type?: string;
  /** The parsed inputs the create was given (enough to delete what it made); on `creating` only. */
  inputs?: Record<string, unknown>;
  /** The object's id; on `created` only. */
  id?: string;
  /**
   * What the create settled before its first libvirt call (kinds/kind.ts
   * Claim), on `creating`: the UUID the object gets, and whether the name was
   * taken already. Recovery removes only what it can prove the run made.
   */
  claim?: { uuid?: string; existed?: boolean };
}

/** `urn:pulumi:<stack>::<project>::…` -> `<project>.<stack>`, safe as a file name part. */
export function journalKey(urn: string): string {
  const [head = "", project = ""] = urn.split("::");
  const stack = head.split(":").slice(2).join(":");
  return `${project}.${stack}`.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** The journal of the engine `enginePid` for one stack. */
export function journalFile(dir: string, key: string, enginePid: number): string {
  return join(dir, `${key}.${enginePid}.jsonl`);
}

/** Every journal file of a stack, with the engine pid it belongs to. */
export function journalsOf(dir: string, key: string): { file: string; enginePid: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const prefix = `${key}.`;
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith(".jsonl") && /^\d+$/.test(n.slice(prefix.length, -".jsonl".length)))
    .map((n) => ({ file: join(dir, n), enginePid: Number(n.slice(prefix.length, -".jsonl".length)) }))
    .sort((a, b) => a.enginePid - b.enginePid);
}

/** Parses a journal; a torn last line (the writer was killed mid-append) is ignored. */
export function readJournal(file: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // Only the last line can be torn; anything unparsable is skipped.
    }
  }
  return out;
}

/**
 * Creates whose outcome the state may not hold: begun and not known to have
 * failed. A `created` one may still have been recorded by the engine; the
 * caller compares with the state.
 */
export function unfinishedCreates(entries: readonly JournalEntry[]): JournalEntry[] {
  const begun = new Map<string, JournalEntry>();
  for (const e of entries) {
    if (e.op === "creating") begun.set(e.urn, e);
    else if (e.op === "failed") begun.delete(e.urn);
    else if (e.op === "created") {
      const b = begun.get(e.urn);
      if (b !== undefined) begun.set(e.urn, { ...b, id: e.id });
    }
  }
  return [...begun.values()];
}

/** Appends entries for the provider of one engine run (a no-op without a journal directory). */
export class CreateJournal {
  private readonly dir: string | undefined;

  constructor(
    dir: string | undefined = process.env[JOURNAL_DIR_ENV],
    private readonly enginePid: number = process.ppid,
  ) {
    this.dir = dir === "" ? undefined : dir;
  }

  record(entry: JournalEntry): void {
    if (this.dir === undefined) return;
    mkdirSync(this.dir, { recursive: true });
    // One write(2) with O_APPEND per line: lines from concurrent creates never interleave.
    appendFileSync(journalFile(this.dir, journalKey(entry.urn), this.enginePid), JSON.stringify(entry) + "\n");
  }

  /** Runs a create between its `creating` and its `created`/`failed` lines. */
  async around<T extends { id: string }>(
    urn: string,
    type: string,
    inputs: Record<string, unknown>,
    create: () => Promise<T>,
    claim: { uuid?: string; existed?: boolean } = {},
  ): Promise<T> {
    this.record({ op: "creating", urn, type, inputs, ...(Object.keys(claim).length > 0 ? { claim } : {}) });
    let result: T;
    try {
      result = await create();
    } catch (e) {
      // The handlers undo a half-made create before they throw.
      this.record({ op: "failed", urn });
      throw e;
    }
    this.record({ op: "created", urn, id: result.id });
    return result;
  }
}
