// What every kind handler provides, and the pure helpers they share: diffing
// only declared inputs, and trimming a live read down to what was declared.
import type { z } from "zod";
import type { ConnectionArgs } from "../../libvirt/types";
import type { Owner } from "../../libvirt/xml/owner";

/** A resource's state: its inputs plus the outputs the provider adds. */
export type State<A, O> = A & O;

/** Who is asking: the stack and project of the resource's URN (written into objects that can hold it). */
export interface HandlerContext {
  owner?: Owner;
}

/**
 * What a create settles before its first libvirt call, journaled before that
 * call (provider/journal.ts) so that crash recovery can prove what is whose:
 * the UUID the object will get, and whether an object of that name was there
 * already (then it is adopted or refused, and recovery never removes it).
 */
export interface Claim {
  uuid?: string;
  existed?: boolean;
}

export interface KindHandler<A extends ConnectionArgs = ConnectionArgs, O extends object = object> {
  /** Validates inputs (failures name the property) and normalises them to libvirt's spelling. */
  schema: z.ZodType<A, unknown>;
  /** Output-only properties: never compared by diff. */
  outputKeys: readonly string[];
  /** Changed top-level inputs that cannot be applied in place. */
  replaces(changed: readonly string[], olds: State<A, O>, news: A): string[];
  /** Settles the claim of a create (see Claim); without it the claim is empty. */
  claim?(args: A): Promise<Claim>;
  create(args: A, ctx?: HandlerContext, claim?: Claim): Promise<{ id: string; outs: State<A, O> }>;
  /**
   * Live state trimmed to what `state` declares; undefined when the object is
   * gone, or when the object of that name is not the one `id` names (someone
   * else's: bulkhead reports its own as gone rather than adopt another's).
   */
  read(id: string, state: State<A, O>, ctx?: HandlerContext): Promise<State<A, O> | undefined>;
  /** Refuses an object it cannot prove is the one it made. */
  update(id: string, olds: State<A, O>, news: A, ctx?: HandlerContext): Promise<State<A, O>>;
  /** Removes the object if it can prove it is the one `id` names; one that is gone, or someone else's, is left alone. */
  delete(id: string, state: State<A, O>, ctx?: HandlerContext): Promise<void>;
}

/** An object is proven ours when its live UUID is the one we gave it (the resource id); an empty id proves nothing. */
export function provenByUuid(id: string, liveUuid: string | undefined): boolean {
  return id !== "" && liveUuid !== undefined && id.toLowerCase() === liveUuid.toLowerCase();
}

/** The engine's placeholder for a value not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** Removes the engine's secret wrappers (the engine marks matching outputs secret again). */
export function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Top-level input properties whose values differ; outputs are ignored, unknowns count as changed. */
export function changedKeys(oldState: object, newInputs: object, outputKeys: readonly string[]): string[] {
  const olds = oldState as Record<string, unknown>;
  const news = newInputs as Record<string, unknown>;
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => !outputKeys.includes(k)));
  return [...keys].filter((k) => containsUnknown(news[k]) || !deepEqual(olds[k], news[k])).sort();
}

/**
 * Trims `live` to the shape of `declared`, so a read reports drift in what the
 * user declared and nothing libvirt added by itself. Arrays are matched by
 * position; live elements beyond the declared ones are kept whole (a device
 * added by hand is drift). `always(path)` names optional properties reported
 * even when undeclared (e.g. a filterref or qemu:commandline added by hand).
 */
export function keepDeclared(declared: unknown, live: unknown, always: (path: string) => boolean = () => false, path = ""): unknown {
  if (live === undefined) return declared === false ? false : undefined; // absent flag == false
  if (Array.isArray(live)) {
    if (!Array.isArray(declared)) return live;
    return live.map((item, i) => (i < declared.length ? keepDeclared(declared[i], item, always, `${path}[]`) : item));
  }
  if (live === null || typeof live !== "object") return live;
  if (declared === null || typeof declared !== "object" || Array.isArray(declared)) return live;
  const d = declared as Record<string, unknown>;
  const l = live as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(d), ...Object.keys(l)])) {
    const p = path === "" ? k : `${path}.${k}`;
    if (d[k] === undefined && !always(p)) continue;
    const v = d[k] === undefined ? l[k] : keepDeclared(d[k], l[k], always, p);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Picks `keys` from `obj` (those present). */
export function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/** Runs `undo` steps (newest first) after a failed step, then rethrows the original error. */
export async function rollback(err: unknown, undo: (() => Promise<unknown>)[]): Promise<never> {
  const problems: string[] = [];
  for (const step of [...undo].reverse()) {
    try {
      await step();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (problems.length > 0 && err instanceof Error) {
    err.message += `\n(cleanup also failed: ${problems.join("; ")})`;
  }
  throw err;
}
