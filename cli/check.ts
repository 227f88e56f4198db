// `bulkhead check`: the report (the JSON shape of layout.md) and its text form,
// as pure functions of what loading, simulating and the policies found.
import type { LayoutIssue } from "../layout/model";
import { printable } from "../layout/text";
import type { Violation } from "./policies";

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
  violations: Violation[];
  summary: { qubes: number; resources: number; mandatory: number; advisory: number };
}

/** What the layout produced when it was valid. */
export interface CheckFindings {
  qubes: number;
  resources: number;
  violations: Violation[];
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

/** 2: invalid layout; 1: a mandatory violation; 0: fine (advisories do not fail). */
export function checkExitCode(report: CheckReport): 0 | 1 | 2 {
  if (report.errors.length > 0) return 2;
  return report.summary.mandatory > 0 ? 1 : 0;
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
  for (const v of report.violations) lines.push(`${v.level} ${printable(v.policy)} (${printable(v.qube)}): ${printable(v.message)}`);
  const s = report.summary;
  const verdict = report.ok ? "ok" : "FAILED";
  lines.push(
    `${printable(report.layout)}: ${verdict}: ${s.qubes} qubes, ${s.resources} libvirt resources, ` +
      `${s.mandatory} mandatory and ${s.advisory} advisory violations`,
  );
  return lines.join("\n") + "\n";
}
