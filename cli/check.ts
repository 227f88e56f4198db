// `bulkhead check`: the command (`runCheck`), and the report (the JSON shape of
// layout.md) and its text form as pure functions of what loading, simulating and
// the policies found.
import { compileResources, SIM_LAYOUT, type SimulatedResource } from "../components/compile";
import type { LayoutIssue, ResolvedLayout } from "../layout/model";
import { readLayoutFile, parseYamlSource } from "../layout/source";
import { printable } from "../layout/text";
import type { EvaluateOptions } from "../policies/evaluate";
import { EXIT_INVALID, load, readPolicyConfig } from "./command";
import { providerInputIssues } from "./inputs";
import { evaluatePolicies, type Violation } from "./policies";
import { packageVersion } from "./version";

/** A policy's finding with the place in the layout it is about: the qube's (or template's) entry. */
export interface CheckViolation extends Violation {
  /** `qubes.work`, `templates.debian-12`, `host.memory` (dom0, the host); `""` when unknown. */
  path: string;
  /** 1-based line of that entry, `null` when unknown. */
  line: number | null;
}

/** Finds the line of a dotted path's entry in the layout file (the loader's own lookup). */
export type LineOf = (path: string[]) => number | undefined;

/** The layout entry a finding is about: the qube's or template's, the host's memory for dom0. */
export function violationPath(layout: ResolvedLayout, qube: string): string[] {
  if (layout.qubes.some((q) => q.name === qube)) return ["qubes", qube];
  if (layout.templates.some((t) => t.name === qube)) return ["templates", qube];
  if (qube === "dom0") return ["host", "memory"];
  return [];
}

export function locate(violations: Violation[], layout: ResolvedLayout, lineOf: LineOf): CheckViolation[] {
  return violations.map((v) => {
    const path = violationPath(layout, v.qube);
    const line = path.length === 0 ? undefined : lineOf(path);
    // Key order fixed here so the JSON reads policy, level, qube, path, line, message.
    return { policy: v.policy, level: v.level, qube: v.qube, path: path.join("."), line: line ?? null, message: v.message };
  });
}

export interface CheckError {
  path: string;
  /** `null` when the problem has no line (an empty or binary file). */
  line: number | null;
  message: string;
}

export interface CheckReport {
  layout: string;
  ok: boolean;
  errors: CheckError[];
  violations: CheckViolation[];
  summary: { qubes: number; resources: number; mandatory: number; advisory: number };
}

/** What the layout produced when it was valid. */
export interface CheckFindings {
  qubes: number;
  resources: number;
  violations: CheckViolation[];
}

export function validReport(layout: string, findings: CheckFindings): CheckReport {
  const count = (level: Violation["level"]) => findings.violations.filter((v) => v.level === level).length;
  const mandatory = count("mandatory");
  return {
    layout,
    ok: mandatory === 0,
    errors: [],
    violations: findings.violations,
    summary: { qubes: findings.qubes, resources: findings.resources, mandatory, advisory: count("advisory") },
  };
}

export function invalidReport(layout: string, issues: LayoutIssue[]): CheckReport {
  return {
    layout,
    ok: false,
    // Key order fixed here so the JSON reads path, line, message.
    errors: issues.map((i) => ({ path: i.path, line: i.line ?? null, message: i.message })),
    violations: [],
    summary: { qubes: 0, resources: 0, mandatory: 0, advisory: 0 },
  };
}

/**
 * 2: invalid layout; 1: a mandatory violation (with `strict`, any violation); 0: fine
 * (advisories do not fail unless strict). Several reports: the worst of them.
 */
export function checkExitCode(report: CheckReport | CheckReport[], strict = false): 0 | 1 | 2 {
  const reports = Array.isArray(report) ? report : [report];
  if (reports.some((r) => r.errors.length > 0)) return 2;
  const failing = (r: CheckReport) => r.summary.mandatory > 0 || (strict && r.violations.length > 0);
  return reports.some(failing) ? 1 : 0;
}

/** `qubes.work.netvm (line 12): message`, the style of the loader's own messages. */
export function formatError(e: CheckError): string {
  const where = [printable(e.path), e.line === null ? "" : `(line ${e.line})`].filter((s) => s !== "").join(" ");
  return where === "" ? printable(e.message) : `${where}: ${printable(e.message)}`;
}

export function formatCheckText(report: CheckReport): string {
  const lines: string[] = [];
  if (report.errors.length > 0) {
    lines.push(`${printable(report.layout)}: invalid layout`);
    for (const e of report.errors) lines.push(`  ${formatError(e)}`);
    const n = report.errors.length;
    lines.push(`${n} error${n === 1 ? "" : "s"}; nothing was simulated`);
    return lines.join("\n") + "\n";
  }
  for (const v of report.violations) {
    const where = v.line === null ? printable(v.qube) : `${printable(v.qube)}, line ${v.line}`;
    lines.push(`${v.level} ${printable(v.policy)} (${where}): ${printable(v.message)}`);
  }
  const s = report.summary;
  const verdict = report.ok ? "ok" : "FAILED";
  lines.push(
    `${printable(report.layout)}: ${verdict}: ${s.qubes} qubes, ${s.resources} libvirt resources, ` +
      `${s.mandatory} mandatory and ${s.advisory} advisory violations`,
  );
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------ the command

/** Prints a layout's issues to stderr; the status for plan and graph. */
export function reportInvalid(path: string, issues: LayoutIssue[]): number {
  const report = invalidReport(path, issues);
  process.stderr.write(formatCheckText(report));
  return EXIT_INVALID;
}

/** The provider's input checks as layout issues, with the line of the template or qube. */
function inputIssues(layout: ResolvedLayout, resources: SimulatedResource[], lineOf: LineOf): LayoutIssue[] {
  return providerInputIssues(resources, layout, SIM_LAYOUT).map((i) => {
    const line = lineOf(i.path.split("."));
    return line === undefined ? { path: i.path, message: i.message } : { path: i.path, line, message: i.message };
  });
}

export type CheckFormat = "text" | "json" | "sarif" | "github";

/** The line of a path's entry, read again from the file (the loader keeps no source). */
function lineLookup(path: string): LineOf {
  const read = readLayoutFile(path);
  const parsed = read.ok ? parseYamlSource(read.text) : undefined;
  return (p) => (parsed?.ok === true ? parsed.source.lineOf(p) : undefined);
}

async function checkOne(path: string, options: EvaluateOptions): Promise<CheckReport> {
  const loaded = load(path);
  if ("issues" in loaded) return invalidReport(path, loaded.issues);
  const resources = compileResources(loaded.layout);
  const lineOf = lineLookup(path);
  // What the provider would refuse at preview fails check too (exit 2).
  const refused = inputIssues(loaded.layout, resources, lineOf);
  if (refused.length > 0) return invalidReport(path, refused);
  const violations = await evaluatePolicies(resources, options);
  return validReport(path, {
    qubes: loaded.layout.qubes.length,
    resources: resources.filter((r) => r.custom).length,
    violations: locate(violations, loaded.layout, lineOf),
  });
}

export async function runCheck(paths: string[], opts: { format: CheckFormat; json?: boolean; strict?: boolean; policyPackConfig?: string }): Promise<number> {
  const format: CheckFormat = opts.json === true ? "json" : opts.format;
  const options = await readPolicyConfig(opts.policyPackConfig);
  const reports: CheckReport[] = [];
  for (const path of paths) reports.push(await checkOne(path, options));
  const code = checkExitCode(reports, opts.strict === true);
  if (format === "json") {
    // One file: the object of layout.md; several: an array of them, in the order given.
    const value = reports.length === 1 ? reports[0] : reports;
    process.stdout.write(JSON.stringify(value, null, 2) + "\n");
  } else if (format === "sarif") {
    const { toSarif } = await import("./formats.js");
    process.stdout.write(JSON.stringify(toSarif(reports, packageVersion()), null, 2) + "\n");
  } else if (format === "github") {
    const { toGithub } = await import("./formats.js");
    process.stdout.write(toGithub(reports));
    process.stderr.write(reports.map(formatCheckText).join(""));
  } else {
    for (const r of reports) (checkExitCode(r) === EXIT_INVALID ? process.stderr : process.stdout).write(formatCheckText(r));
  }
  return code;
}
