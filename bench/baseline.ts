// Runs the baseline's call plan with plain virsh calls (argument arrays, the
// provider's own virsh helper so temp-file handling is identical), as many
// steps at once as the engine runs (`pulumi up`'s default --parallel), each
// step starting once the steps it depends on have finished. The same plan
// through one persistent connection (one virsh session) is libvirt's floor.
import { makeIso9660 } from "../provider/iso9660";
import { seedFiles } from "../provider/image";
import { VirshSession } from "../libvirt/session";
import { virsh, withTempFile } from "../libvirt/virsh";
import type { PlannedCall, PlannedStep } from "./calls";

/** Runs one virsh command (`args` after `-c <uri>`): a process of its own, or a command sent to a session. */
export type Runner = (uri: string, args: readonly string[], timeoutMs: number) => Promise<string>;

/** The baseline's runner: one `virsh` process per call. */
export const perCall: Runner = (uri, args, timeoutMs) => virsh(uri, args, { timeoutMs });

/**
 * The floor's runner: every call through one persistent connection, a single
 * `virsh` session per URI fed on stdin (libvirt/session.ts), so calls queue
 * on it one at a time. Close the sessions with `close()` afterwards.
 */
export function oneConnection(): { runner: Runner; close(): void } {
  const sessions = new Map<string, VirshSession>();
  return {
    runner: (uri, args, timeoutMs) => {
      let s = sessions.get(uri);
      if (!s) sessions.set(uri, (s = new VirshSession(uri)));
      return s.run(args, timeoutMs);
    },
    close: () => {
      for (const s of sessions.values()) s.close();
    },
  };
}

async function call(uri: string, c: PlannedCall, runner: Runner): Promise<void> {
  const timeoutMs = 3_600_000;
  if (c.xml !== undefined) await withTempFile("object.xml", c.xml, (file) => runner(uri, [...c.args, "--file", file], timeoutMs));
  else if (c.seed !== undefined) {
    const iso = makeIso9660("cidata", seedFiles(c.seed));
    await withTempFile("seed.iso", iso, (file) => runner(uri, [...c.args, "--file", file], timeoutMs));
  } else await runner(uri, c.args, timeoutMs);
}

/**
 * Runs `work(step)` for every step, at most `parallel` at a time, each after
 * its dependencies (`reverse`: after its dependents, as removal must). Returns
 * the wall time in milliseconds.
 */
export async function schedule<S extends { urn: string; after: string[] }>(
  steps: readonly S[],
  parallel: number,
  reverse: boolean,
  work: (step: S) => Promise<void>,
): Promise<number> {
  const waitsFor = new Map<string, Set<string>>(steps.map((s) => [s.urn, new Set<string>()]));
  for (const s of steps) {
    for (const a of s.after) {
      if (!waitsFor.has(a)) continue;
      if (reverse) waitsFor.get(a)!.add(s.urn);
      else waitsFor.get(s.urn)!.add(a);
    }
  }
  const byUrn = new Map(steps.map((s) => [s.urn, s]));
  const pending = new Set(steps.map((s) => s.urn));
  const inFlight = new Set<string>();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = () => {
      if (failed) return;
      if (pending.size === 0 && inFlight.size === 0) return resolve();
      for (const urn of [...pending]) {
        if (inFlight.size >= parallel) break;
        if ([...waitsFor.get(urn)!].some((d) => pending.has(d) || inFlight.has(d))) continue;
        pending.delete(urn);
        inFlight.add(urn);
        work(byUrn.get(urn)!).then(
          () => {
            inFlight.delete(urn);
            pump();
          },
          (e: unknown) => {
            failed = true;
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        );
      }
    };
    pump();
  });
  return performance.now() - t0;
}

/** The baseline: each step's plain virsh calls, in order. Returns milliseconds and the number of calls. */
export async function runPlan(steps: readonly PlannedStep[], parallel: number, reverse = false, runner: Runner = perCall): Promise<{ ms: number; calls: number }> {
  let calls = 0;
  const ms = await schedule(steps, parallel, reverse, async (s) => {
    for (const c of reverse ? s.remove : s.create) {
      await call(s.uri, c, runner);
      calls++;
    }
  });
  return { ms, calls };
}
