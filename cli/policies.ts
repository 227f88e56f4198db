// The seam between `bulkhead check` and the policy pack: the pack judges the
// libvirt resources a layout would create (never the YAML), so hand-written
// programs are held to the same rules. Wired to the pack in a later change.
import type { SimulatedResource } from "../components/simulate";

export interface Violation {
  /** Policy name from the pack, e.g. `clients-behind-proxy`. */
  policy: string;
  /** `remediate` violations are fixed at deploy time and block nothing. */
  level: "mandatory" | "advisory" | "remediate";
  /** The qube the violation is about. */
  qube: string;
  message: string;
}

export function evaluatePolicies(resources: SimulatedResource[]): Violation[] {
  void resources;
  return [];
}
