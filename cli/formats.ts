// `bulkhead check --format sarif|github`: the same reports for code scanning
// (SARIF 2.1.0, uploaded by github/codeql-action/upload-sarif) and for the
// annotations GitHub Actions makes of `::error file=,line=::` lines in a log.
// Pure functions of the reports and the pack's rule metadata.
import * as path from "node:path";
import { policyUrl } from "../policies/rule";
import { rules } from "../policies/ruleset";
import type { CheckReport, CheckViolation } from "./check";
import { formatError } from "./check";

/** The rule id of an invalid layout (a loader error, not a policy). */
export const INVALID_LAYOUT = "invalid-layout";

/** GitHub's code-scanning severity score for each CrossGuard severity. */
const SECURITY_SEVERITY = { low: "3.0", medium: "5.5", high: "8.0", critical: "9.5" } as const;

type SarifLevel = "error" | "warning" | "note";

const levelOf = (v: CheckViolation): SarifLevel => (v.level === "mandatory" ? "error" : "warning");

/**
 * The file as a SARIF artifact URI: relative to the working directory (the repository root in a
 * workflow) with forward slashes, so code scanning can place it; percent-encoded per segment.
 */
export function artifactUri(file: string, cwd = process.cwd()): string {
  const rel = path.isAbsolute(file) ? path.relative(cwd, file) : path.normalize(file);
  const usable = rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  const parts = (usable ? rel : path.resolve(cwd, file)).split(path.sep).filter((p) => p !== "" && p !== ".");
  const encoded = parts.map(encodeURIComponent).join("/");
  return usable ? encoded : `file:///${encoded}`;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  defaultConfiguration: { level: SarifLevel };
  help: { text: string; markdown: string };
  properties: { tags: string[]; precision: "very-high"; "security-severity": string };
}

function camel(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash: string, c: string) => c.toUpperCase());
}

function sarifRules(): SarifRule[] {
  const invalid: SarifRule = {
    id: INVALID_LAYOUT,
    name: "InvalidLayout",
    shortDescription: { text: "The layout is not a valid bulkhead layout (docs/layout.md)" },
    fullDescription: { text: "The YAML cannot be used: a syntax error, an unknown key, a value out of range or a reference to nothing." },
    defaultConfiguration: { level: "error" },
    help: { text: "Fix the value at the path and line given; the message says how.", markdown: "Fix the value at the path and line given; the message says how (see `docs/layout.md`)." },
    properties: { tags: ["bulkhead", "layout"], precision: "very-high", "security-severity": SECURITY_SEVERITY.medium },
  };
  return [
    invalid,
    ...rules.map((r) => ({
      id: r.name,
      name: camel(r.name),
      shortDescription: { text: r.description.split(/(?<=\.) /)[0] },
      fullDescription: { text: r.description },
      defaultConfiguration: { level: (r.enforcementLevel === "mandatory" ? "error" : "warning") as SarifLevel },
      help: {
        text: `${r.remediationSteps} See ${policyUrl(r.name)}.`,
        markdown: `${r.remediationSteps}\n\nSee [${policyUrl(r.name)}](${policyUrl(r.name)}) (in the bulkhead repository).`,
      },
      properties: { tags: ["bulkhead", ...r.tags], precision: "very-high" as const, "security-severity": SECURITY_SEVERITY[r.severity] },
    })),
  ];
}

function location(file: string, line: number | null) {
  const physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } = {
    artifactLocation: { uri: artifactUri(file) },
  };
  if (line !== null) physicalLocation.region = { startLine: line };
  return [{ physicalLocation }];
}

/** One SARIF 2.1.0 log with one run for all the reports. */
export function toSarif(reports: CheckReport[], version: string): object {
  const driverRules = sarifRules();
  const index = new Map(driverRules.map((r, i) => [r.id, i]));
  const results = reports.flatMap((report) => [
    ...report.errors.map((e) => ({
      ruleId: INVALID_LAYOUT,
      ruleIndex: 0,
      level: "error" as SarifLevel,
      message: { text: formatError(e) },
      locations: location(report.layout, e.line),
    })),
    ...report.violations.map((v) => ({
      ruleId: v.policy,
      ruleIndex: index.get(v.policy) ?? 0,
      level: levelOf(v),
      message: { text: v.message },
      locations: location(report.layout, v.line),
      properties: { qube: v.qube, enforcementLevel: v.level },
    })),
  ]);
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "bulkhead", semanticVersion: version, rules: driverRules } },
        results,
      },
    ],
  };
}

// The workflow-command escapes of @actions/core (toCommandValue / escapeData / escapeProperty).
const escapeData = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

function command(kind: "error" | "warning", props: Record<string, string | number | null>, message: string): string {
  const list = Object.entries(props)
    .filter((kv): kv is [string, string | number] => kv[1] !== null)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(",");
  return `::${kind} ${list}::${escapeData(message)}`;
}

/** `::error file=…,line=…,title=…::message` per error and violation (advisories as warnings). */
export function toGithub(reports: CheckReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    for (const e of r.errors) {
      lines.push(command("error", { file: r.layout, line: e.line, title: `bulkhead: invalid layout (${e.path || "document"})` }, formatError(e)));
    }
    for (const v of r.violations) {
      const kind = v.level === "mandatory" ? "error" : "warning";
      lines.push(command(kind, { file: r.layout, line: v.line, title: `bulkhead ${v.level}: ${v.policy}` }, v.message));
    }
  }
  return lines.map((l) => l + "\n").join("");
}
