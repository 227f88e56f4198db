// `bulkhead check`: the report (the JSON shape of layout.md) and its text form,
// as pure functions of what loading, simulating and the policies found.
import type { LayoutIssue, ResolvedLayout } from "../layout/model";
import { printable } from "../layout/text";
import type { Violation } from "./policies";

/** A policy's finding with the place in the layout it is about: the qube's (or template's) entry. */
export interface CheckViolation extends Violation {
  /** `qubes.work`, `templates.debian-12`, `host.memory` (dom0, the host); `""` when unknown. */
  path: string;
  /** 1-based line of that entry, `null` when unknown. */
  line: number | null;
}

/** Finds the line of a dotted path's entry in the layout file (the loader's own lookup). */
export type LineOf = (path: string[]) => number | undefined;

/** The names a finding can be filed under, looked up per finding (thousands of findings stay linear). */
export interface LayoutNames {
  qubes: ReadonlySet<string>;
  templates: ReadonlySet<string>;
}

export function layoutNames(layout: ResolvedLayout): LayoutNames {
  return { qubes: new Set(layout.qubes.map((q) => q.name)), templates: new Set(layout.templates.map((t) => t.name)) };
}

/** The layout entry a finding is about: the qube's or template's, the host's memory for dom0. */
export function violationPath(names: LayoutNames, qube: string): string[] {
  if (names.qubes.has(qube)) return ["qubes", qube];
  if (names.templates.has(qube)) return ["templates", qube];
  if (qube === "dom0") return ["host", "memory"];
  return [];
}

export function locate(violations: Violation[], layout: ResolvedLayout, lineOf: LineOf): CheckViolation[] {
  const names = layoutNames(layout);
  return violations.map((v) => {
    const path = violationPath(names, v.qube);
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
