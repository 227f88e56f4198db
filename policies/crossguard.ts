// Turns a Rule into a CrossGuard policy. Both shapes build the same HostModel
// the evaluator uses: a stack policy from every libvirt resource in the stack,
// a domain policy from the one Domain under validation.
import {
  remediateResourceOfType,
  validateResourceOfType,
  type PolicyResource,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { Domain } from "../components/resources";
import { fromResources, LAYOUT_TYPE, type ResourceInput } from "./model";
import { policyUrl, type Rule } from "./rule";
import { isLibvirtType } from "../libvirt/tokens";

// The engine wraps props in a proxy that throws on unknown values; this key
// (policy/proxy.js `getSpecialProxyTarget`) returns the plain object beneath,
// whose unknowns are sentinel strings the model reads as UNKNOWN.
const PROXY_TARGET = "__getSpecialProxyTarget";

function unwrap(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const target = (value as Record<string, unknown>)[PROXY_TARGET];
  return typeof target === "object" && target !== null ? target : value;
}

/** A deep plain copy of engine props, safe to read and to hand back from a remediation. */
export function plain(value: unknown): unknown {
  const v = unwrap(value);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x);
  return out;
}

const plainProps = (props: unknown): Record<string, unknown> => plain(props) as Record<string, unknown>;

/** The metadata CrossGuard shows with every violation (reviewers read it in the PR comment). */
function metadata(rule: Rule) {
  return {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    configSchema: rule.configSchema,
    severity: rule.severity,
    tags: [...rule.tags],
    remediationSteps: rule.remediationSteps,
    url: policyUrl(rule.name),
  };
}

function stackPolicy(rule: Rule): StackValidationPolicy {
  return {
    ...metadata(rule),
    validateStack: (args, reportViolation) => {
      const libvirt: PolicyResource[] = args.resources.filter((r) => isLibvirtType(r.type));
      // The Layout component too: its own inputs carry host.memory (memory-budget).
      const judged = args.resources.filter((r) => isLibvirtType(r.type) || r.type === LAYOUT_TYPE);
      const inputs: ResourceInput[] = judged.map((r) => ({ type: r.type, name: r.name, inputs: plainProps(r.props) }));
      const model = fromResources(inputs);
      for (const f of rule.check(model, args.getConfig<object>())) {
        // Point the engine at the qube's domain when there is one; host-wide findings have none.
        const domain = model.domains.find((d) => d.qube === f.qube);
        const urn = libvirt.find((r) => r.type === Domain.__pulumiType && r.name === domain?.resource)?.urn;
        reportViolation(f.message, urn);
      }
    },
  };
}

function domainPolicy(rule: Rule): ResourceValidationPolicy {
  const policy: ResourceValidationPolicy = {
    ...metadata(rule),
    validateResource: validateResourceOfType(Domain, (props, args, reportViolation) => {
      const model = fromResources([{ type: args.type, name: args.name, inputs: plainProps(props) }]);
      for (const f of rule.check(model, args.getConfig<object>())) reportViolation(f.message);
    }),
  };
  const remediate = rule.remediate?.bind(rule);
  if (remediate !== undefined) {
    policy.remediateResource = remediateResourceOfType(Domain, (props) => remediate(plainProps(props)));
  }
  return policy;
}

export function toPolicy(rule: Rule): ResourceValidationPolicy | StackValidationPolicy {
  return rule.scope === "stack" ? stackPolicy(rule) : domainPolicy(rule);
}
