// The pack's verdicts outside the Pulumi engine, for `bulkhead check` (a mock
// run) and `bulkhead audit` (a live host): the same checks the CrossGuard
// wrappers run, with the same levels and configuration.
import type { EnforcementLevel } from "@pulumi/policy";
import type { HostModel } from "./model";
import { rules } from "./ruleset";

export interface Violation {
  policy: string;
  /** `remediate`: the engine fixes it at deploy time (no-remote-display's listen address). */
  level: Exclude<EnforcementLevel, "disabled">;
  qube: string;
  message: string;
}

export interface EvaluateOptions {
  /** Per-policy levels, as in `--policy-pack-config`; `disabled` skips the policy. */
  levels?: Record<string, EnforcementLevel>;
  /**
   * memory-budget's `hostMemoryMiB` when neither the configuration nor the model (the
   * program's Layout component) gives one: `bulkhead audit --host-memory`.
   */
  hostMemoryMiB?: number;
  /** Further per-policy configuration, e.g. `{ "usb-confined": { usbControllers: [...] } }`. */
  config?: Record<string, object>;
}

const ORDER = new Map(rules.map((r, i) => [r.name, i]));

/** Sorted by qube, then the spec's policy order, then message. */
export function compareViolations(a: Violation, b: Violation): number {
  if (a.qube !== b.qube) return a.qube < b.qube ? -1 : 1;
  const byPolicy = (ORDER.get(a.policy) ?? 99) - (ORDER.get(b.policy) ?? 99);
  if (byPolicy !== 0) return byPolicy;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

export function evaluate(model: HostModel, opts: EvaluateOptions = {}): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    const level = opts.levels?.[rule.name] ?? rule.enforcementLevel;
    if (level === "disabled") continue;
    const config: Record<string, unknown> = { ...(opts.config?.[rule.name] ?? {}) };
    if (rule.name === "memory-budget" && opts.hostMemoryMiB !== undefined && config.hostMemoryMiB === undefined) {
      config.hostMemoryMiB = opts.hostMemoryMiB;
    }
    for (const f of rule.check(model, config)) {
      // As in the engine: what a remediation cannot fix stays a mandatory violation.
      const effective = level === "remediate" && f.remediable !== true ? "mandatory" : level;
      out.push({ policy: f.policy, level: effective, qube: f.qube, message: f.message });
    }
  }
  return out.sort(compareViolations);
}
