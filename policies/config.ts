// `--policy-pack-config` for `bulkhead check` and `bulkhead audit`: the engine's own
// file format, read into evaluate's options, so both give the verdicts the engine gives.
// `{ "all": "advisory", "memory-budget": { "enforcementLevel": "mandatory", "hostMemoryMiB": 4096 },
//    "clients-behind-proxy": "disabled" }`: a level string or an object with an optional
// `enforcementLevel` and the policy's own configuration (checked against its configSchema).
import type { EnforcementLevel } from "@pulumi/policy";
import type { EvaluateOptions } from "./evaluate";
import { rules } from "./ruleset";

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** A config file the engine would refuse; the message names the policy and the property. */
export class PolicyConfigError extends Error {}

type Schema = { type?: string; minimum?: number; items?: Schema };

function typeProblem(value: unknown, schema: Schema): string | undefined {
  switch (schema.type) {
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return `must be a whole number, not ${JSON.stringify(value)}`;
      if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}, not ${value}`;
      return undefined;
    case "string":
      return typeof value === "string" ? undefined : `must be a string, not ${JSON.stringify(value)}`;
    case "array": {
      if (!Array.isArray(value)) return `must be an array, not ${JSON.stringify(value)}`;
      const bad = value.map((v) => (schema.items === undefined ? undefined : typeProblem(v, schema.items))).find((p) => p !== undefined);
      return bad === undefined ? undefined : `item ${bad}`;
    }
    default:
      return undefined;
  }
}

function level(value: unknown, where: string): EnforcementLevel {
  if (typeof value === "string" && (LEVELS as readonly string[]).includes(value)) return value as EnforcementLevel;
  throw new PolicyConfigError(`${where}: enforcementLevel must be one of ${LEVELS.join(", ")}, not ${JSON.stringify(value)}`);
}

/** The file's content (parsed JSON) as evaluate's levels and configuration. */
export function policyPackConfig(content: unknown): Required<Pick<EvaluateOptions, "levels" | "config">> {
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    throw new PolicyConfigError("the policy pack config must be a JSON object keyed by policy name (or \"all\")");
  }
  const levels: Record<string, EnforcementLevel> = {};
  const config: Record<string, object> = {};
  const entries = Object.entries(content as Record<string, unknown>);
  const all = (content as Record<string, unknown>)["all"];
  if (all !== undefined) {
    const l = typeof all === "string" ? level(all, "all") : level((all as Record<string, unknown> | null)?.["enforcementLevel"], "all");
    for (const r of rules) levels[r.name] = l;
  }
  for (const [name, value] of entries) {
    if (name === "all") continue;
    const r = rules.find((x) => x.name === name);
    if (r === undefined) {
      throw new PolicyConfigError(`"${name}" is not a policy of bulkhead-isolation; the policies are ${rules.map((x) => x.name).join(", ")}`);
    }
    if (typeof value === "string") {
      levels[name] = level(value, name);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new PolicyConfigError(`${name}: give a level string or an object, not ${JSON.stringify(value)}`);
    }
    const { enforcementLevel, ...own } = value as Record<string, unknown>;
    if (enforcementLevel !== undefined) levels[name] = level(enforcementLevel, name);
    const properties = (r.configSchema?.properties ?? {}) as Record<string, Schema>;
    for (const [key, v] of Object.entries(own)) {
      const schema = properties[key];
      if (schema === undefined) continue; // as JSON Schema: other properties are allowed
      const problem = typeProblem(v, schema);
      if (problem !== undefined) throw new PolicyConfigError(`${name}: ${key} ${problem}`);
    }
    config[name] = own;
  }
  return { levels, config };
}
