// The seam between `bulkhead check` and the policy pack: the pack judges the
// libvirt resources a layout would create (never the YAML), so hand-written
// programs are held to the same rules. The only thing taken from the layout is
// `host.memory`, which no libvirt resource carries (memory-budget's config).
import type { SimulatedResource } from "../components/plan";
import type { ResolvedLayout } from "../layout/model";
import type { Violation } from "../policies/evaluate";

export type { Violation };

export async function evaluatePolicies(resources: SimulatedResource[], layout: ResolvedLayout): Promise<Violation[]> {
  // Loaded only for a valid layout (an invalid one needs no rules). Neither loads the Pulumi SDKs.
  const [{ evaluate }, { fromResources }] = await Promise.all([
    import("../policies/evaluate.js"),
    import("../policies/model.js"),
  ]);
  return evaluate(fromResources(resources), { hostMemoryMiB: layout.host.memory });
}
