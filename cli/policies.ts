// The seam between `bulkhead check` and the policy pack: the pack judges the
// libvirt resources a layout would create (never the YAML), so hand-written
// programs are held to the same rules. `host.memory`, which no libvirt resource
// carries, comes from the Layout component's own inputs, as in the engine.
import type { SimulatedResource } from "../components/compile";
import type { EvaluateOptions, Violation } from "../policies/evaluate";

export type { Violation };

export async function evaluatePolicies(resources: SimulatedResource[], options: EvaluateOptions = {}): Promise<Violation[]> {
  // Loaded only for a valid layout (an invalid one needs no rules). Neither loads the Pulumi SDKs.
  const [{ evaluate }, { fromResources }] = await Promise.all([
    import("../policies/evaluate.js"),
    import("../policies/model.js"),
  ]);
  return evaluate(fromResources(resources), options);
}
