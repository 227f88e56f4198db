// What every policy file exports: a pure check over the HostModel plus the
// metadata CrossGuard needs. The CrossGuard wrappers (crossguard.ts) and
// `evaluate` (evaluate.ts) both call the same check, so the engine and
// `bulkhead check` cannot disagree.
import type { EnforcementLevel, PolicyConfigSchema, Severity } from "@pulumi/policy";
import type { HostModel } from "./model";

export interface Finding {
  policy: string;
  /** The qube to fix; `dom0` (the libvirt host's role in Qubes) for host-wide findings. */
  qube: string;
  /** Starts with `<qube>: ` and says how to fix it. */
  message: string;
  /** The policy's remediation fixes this finding when the policy runs at level `remediate`. */
  remediable?: boolean;
}

/** Filed under this name when a finding concerns the host rather than one qube. */
export const HOST = "dom0";

export interface Rule<C extends object = object> {
  /** kebab-case, exactly as in the spec's policy table. */
  name: string;
  /** What it protects against and the Qubes practice it follows. */
  description: string;
  enforcementLevel: Exclude<EnforcementLevel, "disabled" | "remediate">;
  /** How bad a violation is (CrossGuard's severity; SARIF's security-severity). */
  severity: Severity;
  /** `qubes` plus the areas the rule is about (network, devices, storage, display, host, ...). */
  tags: readonly string[];
  /** What to change so the rule holds, for a reviewer (CrossGuard's remediationSteps). */
  remediationSteps: string;
  /**
   * `domain`: the check reads one domain at a time (runs as validateResource on each Domain);
   * `stack`: it needs the whole host (runs as validateStack).
   */
  scope: "domain" | "stack";
  configSchema?: PolicyConfigSchema;
  /** Pure: same model and config, same findings. */
  check(model: HostModel, config: C): Finding[];
  /** Fixed Domain inputs, or undefined when nothing is to be fixed (level `remediate` only). */
  remediate?(props: Record<string, unknown>): Record<string, unknown> | undefined;
}

export function finding(policy: string, qube: string, text: string, remediable?: boolean): Finding {
  const f: Finding = { policy, qube, message: `${qube}: ${text}` };
  if (remediable === true) f.remediable = true;
  return f;
}

/** Where a reader finds the rule: its section in policies/README.md, relative to the repository root. */
export function policyUrl(name: string): string {
  return `policies/README.md#${name}`;
}
