// Runs the baseline's call plan with plain virsh calls (argument arrays, the
// provider's own virsh helper so temp-file handling is identical), as many
// steps at once as the engine runs (`pulumi up`'s default --parallel), each
// step starting once the steps it depends on have finished.
import { makeIso9660 } from "../provider/iso9660";
import { seedFiles } from "../provider/image";
import { virsh, withTempFile } from "../provider/virsh";
import type { PlannedCall, PlannedStep } from "./plan";

async function call(uri: string, c: PlannedCall): Promise<void> {
  if (c.xml !== undefined) await virsh(uri, c.args, { xml: c.xml });
  else if (c.seed !== undefined) {
    const iso = makeIso9660("cidata", seedFiles(c.seed));
    await withTempFile("seed.iso", iso, (file) => virsh(uri, [...c.args, "--file", file], { timeoutMs: 3_600_000 }));
  } else await virsh(uri, c.args, { timeoutMs: 3_600_000 });
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
export async function runPlan(steps: readonly PlannedStep[], parallel: number, reverse = false): Promise<{ ms: number; calls: number }> {
  let calls = 0;
  const ms = await schedule(steps, parallel, reverse, async (s) => {
    for (const c of reverse ? s.remove : s.create) {
      await call(s.uri, c);
      calls++;
    }
  });
  return { ms, calls };
}
