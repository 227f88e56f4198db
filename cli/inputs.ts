// The provider's own input checks (provider/schemas.ts), run by `bulkhead check` on
// the resources the layout would register, so nothing passes `check` and then fails
// the provider's `check` at preview. A failure is filed under the template or qube
// whose component made the resource.
import type { SimulatedResource } from "../components/compile";
import type { ResolvedLayout } from "../layout/model";
import { INPUT_SCHEMAS, propertyPath } from "../provider/schemas";

export interface InputIssue {
  /** `qubes.work`, `templates.debian-12`, or `host` for the layout-wide pool. */
  path: string;
  message: string;
}

/** Every input the provider would refuse, in resource order. */
export function providerInputIssues(resources: readonly SimulatedResource[], layout: ResolvedLayout, layoutName: string): InputIssue[] {
  const owner = new Map<string, string>();
  for (const t of layout.templates) owner.set(`${layoutName}-${t.name}`, `templates.${t.name}`);
  for (const q of layout.qubes) owner.set(`${layoutName}-${q.name}`, `qubes.${q.name}`);
  const componentName = (urn: string | undefined) => (urn === undefined ? "" : (urn.split("::").pop() ?? ""));
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const issues: InputIssue[] = [];
  for (const r of resources) {
    const schema = INPUT_SCHEMAS[r.type];
    if (!r.custom || schema === undefined) continue;
    const result = schema.safeParse(r.inputs);
    if (result.success) continue;
    const parent = byUrn.get(r.parent ?? "");
    const path = owner.get(componentName(parent?.urn)) ?? "host";
    const kind = r.type.split(":").pop();
    for (const issue of result.error.issues) {
      issues.push({
        path,
        message: `the provider would refuse ${kind} ${JSON.stringify(String(r.inputs.name ?? r.name))}: ${propertyPath(issue.path)}: ${issue.message}`,
      });
    }
  }
  return issues;
}
