// The pack's policies, in the order of the spec's table. index.ts hands them to
// `new PolicyPack`; tests import this module (which starts no server).
import type { Policies } from "@pulumi/policy";
import { toPolicy } from "./crossguard";
import { rules } from "./ruleset";

// Defined in ruleset.ts (no Pulumi there); still exported from here.
export { rules };

export const PACK_NAME = "bulkhead-isolation";

export const policies: Policies = rules.map(toPolicy);
