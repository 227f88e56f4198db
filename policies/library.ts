// The pack for a policy pack of one's own (`bulkhead/policies`), in the style of
// AwsGuard: `new BulkheadGuard({ all: "mandatory", "memory-budget": { hostMemoryMiB: 8192 } })`
// in the pack's index.ts starts a CrossGuard pack with bulkhead's fifteen policies
// and that configuration as its defaults (`--policy-pack-config` still overrides
// it). `policies` and `rules` are there to pick from for a pack built by hand.
import { PolicyPack, type EnforcementLevel, type Policies, type PolicyPackConfig } from "@pulumi/policy";
import { PACK_NAME, policies, rules } from "./pack";

export { PACK_NAME, policies, rules };
export type { Finding, Rule } from "./rule";

/** Configuration of one policy: a level, or a level with the policy's own settings. */
export type PolicySetting = EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>);

export interface BulkheadGuardConfig {
  /** The level of every policy not named below. */
  all?: EnforcementLevel;
  /** Per policy by name, e.g. `"uplink-host-isolated": "disabled"`, `"memory-budget": { hostMemoryMiB: 8192 }`. */
  [policy: string]: PolicySetting | undefined;
}

export interface BulkheadGuardOptions {
  /** The pack's name (default `bulkhead-isolation`). */
  name?: string;
}

/**
 * The engine's initial config for the pack, per policy (`all` spelled out for every policy not
 * named); unknown policy names are refused (a typo would silently do nothing).
 */
export function guardConfig(config: BulkheadGuardConfig = {}): PolicyPackConfig {
  const names = rules.map((r) => r.name);
  const { all, ...named } = config;
  const out: PolicyPackConfig = {};
  for (const [key, value] of Object.entries(named)) {
    if (!names.includes(key)) throw new Error(`BulkheadGuard: no policy "${key}"; the policies are ${names.join(", ")}`);
    if (value !== undefined) out[key] = value;
  }
  if (all !== undefined) {
    for (const name of names) {
      const own = out[name];
      if (own === undefined) out[name] = all;
      else if (typeof own === "object" && own.enforcementLevel === undefined) out[name] = { ...own, enforcementLevel: all };
    }
  }
  return out;
}

export class BulkheadGuard {
  readonly pack: PolicyPack;
  readonly policies: Policies = policies;

  constructor(config: BulkheadGuardConfig = {}, opts: BulkheadGuardOptions = {}) {
    this.pack = new PolicyPack(opts.name ?? PACK_NAME, { policies }, guardConfig(config));
  }
}
