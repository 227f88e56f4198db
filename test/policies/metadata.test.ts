// A reviewer's rule: every policy carries url (an anchor in policies/README.md),
// remediationSteps, severity and tags, and @pulumi/policy 1.21 hands them to the
// engine (its own makeAnalyzerInfo, what GetAnalyzerInfo answers).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PACK_NAME, policies, rules } from "../../policies/pack";

const readme = readFileSync(join(__dirname, "..", "..", "policies", "README.md"), "utf8");
/** GitHub's heading anchors: lower case, spaces to dashes, other punctuation but - and _ dropped. */
const anchors = [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-"));

interface PolicyInfo {
  getName(): string;
  getSeverity(): number;
  getTagsList(): string[];
  getRemediationSteps(): string;
  getUrl(): string;
}
const { makeAnalyzerInfo } = createRequire(__filename)("@pulumi/policy/protoutil") as {
  makeAnalyzerInfo: (name: string, version: string, level: string | undefined, args: object) => { getPoliciesList(): PolicyInfo[] };
};

describe("policy metadata", () => {
  test.each(rules.map((r) => r.name))("%s: url, remediationSteps, severity, tags", (name) => {
    const p = policies.find((x) => x.name === name);
    expect(p?.url).toBe(`policies/README.md#${name}`);
    expect(anchors.filter((a) => a === name)).toEqual([name]);
    expect(["low", "medium", "high", "critical"]).toContain(p?.severity);
    expect(p?.tags?.[0]).toBe("qubes");
    expect((p?.tags ?? []).length).toBeGreaterThan(1);
    expect((p?.remediationSteps ?? "").length).toBeGreaterThan(40);
    // The README shows the same steps (the docs generator writes them there).
    expect(readme).toContain(`Fix: ${p?.remediationSteps}`);
  });

  test("the engine is told all of it", () => {
    const info = makeAnalyzerInfo(PACK_NAME, "0.1.0", undefined, { policies }).getPoliciesList();
    const SEVERITY = { low: 1, medium: 2, high: 3, critical: 4 } as const;
    expect(info.map((i) => [i.getName(), i.getUrl(), i.getRemediationSteps(), i.getTagsList(), i.getSeverity()])).toEqual(
      rules.map((r) => [r.name, `policies/README.md#${r.name}`, r.remediationSteps, [...r.tags], SEVERITY[r.severity]]),
    );
  });
});
