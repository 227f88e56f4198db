// The provider's own handlers called in-process, with the baseline's schedule:
// separates what the provider's virsh calls cost from what the engine adds
// (gRPC, state, the program), so the note can say where the time goes.
import type { SimulatedResource } from "../components/compile";
import { HANDLERS } from "../provider/provider";
import { schedule } from "./baseline";
import type { PlannedStep } from "./calls";

/** Creates every step's object with the provider's handler, then deletes them all; milliseconds of each phase. */
export async function runHandlers(steps: readonly PlannedStep[], resources: readonly SimulatedResource[], parallel: number): Promise<{ createMs: number; removeMs: number }> {
  const inputs = new Map(resources.map((r) => [r.urn, r.inputs]));
  const made = new Map<string, { id: string; outs: unknown }>();
  const handler = (type: string) => {
    const h = HANDLERS[type];
    if (h === undefined) throw new Error(`no handler for ${type}`);
    return h;
  };
  const createMs = await schedule(steps, parallel, false, async (s) => {
    const h = handler(s.type);
    made.set(s.urn, await h.create(h.schema.parse(inputs.get(s.urn))));
  });
  const removeMs = await schedule(steps, parallel, true, async (s) => {
    const m = made.get(s.urn);
    if (m !== undefined) await handler(s.type).delete(m.id, m.outs);
  });
  return { createMs, removeMs };
}
