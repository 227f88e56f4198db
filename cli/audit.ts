// `bulkhead audit`: the policy pack applied to what a live libvirt host holds,
// read by the live-host reader (libvirt/host.ts), so a hand edit that breaks
// isolation is reported without the layout or the Pulumi state. The judging
// (`auditReport`) is pure and unit-tested from XML strings.
import { printable } from "../layout/text";
import { HostUnreachable, liveHostFromXml, readHost, type LiveHost, type Scope } from "../libvirt/host";
import { VirshError } from "../libvirt/virsh";
import type { EvaluateOptions, Violation } from "../policies/evaluate";

/** The host cannot be reached or read; exit 2 with this one line. */
export class AuditError extends Error {}

export interface AuditReport {
  uri: string;
  ok: boolean;
  violations: Violation[];
  summary: { domains: number; networks: number; filters: number; mandatory: number; advisory: number };
}

export function auditReport(uri: string, host: LiveHost, violations: Violation[]): AuditReport {
  const count = (level: Violation["level"]) => violations.filter((v) => v.level === level).length;
  const mandatory = count("mandatory");
  return {
    uri,
    ok: mandatory === 0,
    violations,
    summary: {
      domains: host.domains.length,
      networks: host.networks.length,
      filters: host.filters.length,
      mandatory,
      advisory: count("advisory"),
    },
  };
}

/** 1: a mandatory violation; 0: none (advisories do not fail). 2 (unreadable host) is an AuditError. */
export function auditExitCode(report: AuditReport): 0 | 1 {
  return report.summary.mandatory > 0 ? 1 : 0;
}

export function formatAuditText(report: AuditReport): string {
  // A live host's names are anyone's: echoed through the one escape.
  const lines = report.violations.map((v) => `${v.level} ${printable(v.policy)} (${printable(v.qube)}): ${printable(v.message)}`);
  const s = report.summary;
  lines.push(
    `${printable(report.uri)}: ${report.ok ? "ok" : "FAILED"}: ${s.domains} bulkhead domains, ${s.networks} networks, ` +
      `${s.filters} nwfilters, ${s.mandatory} mandatory and ${s.advisory} advisory violations`,
  );
  return lines.join("\n") + "\n";
}

export interface AuditOptions extends Scope {
  uri: string;
  /** The host's memory for qubes (memory-budget's `hostMemoryMiB`); without it that policy checks nothing. */
  hostMemoryMiB?: number;
  /** Levels and configuration from `--policy-pack-config` (policies/config.ts). */
  evaluation?: Omit<EvaluateOptions, "hostMemoryMiB">;
}

export async function audit(opts: AuditOptions): Promise<AuditReport> {
  let host: LiveHost;
  try {
    host = liveHostFromXml(await readHost(opts.uri, opts), opts);
  } catch (e) {
    if (e instanceof HostUnreachable) throw new AuditError(e.message);
    // A virsh failure after connecting, or XML of a bulkhead domain the parser cannot read.
    const why = e instanceof VirshError ? e.message : e instanceof Error ? e.message : String(e);
    throw new AuditError(`cannot read the bulkhead objects on ${opts.uri}: ${why}`);
  }
  // Loaded here, as in check: @pulumi/policy takes a while to import.
  const [{ evaluate }, { fromLiveHost }] = await Promise.all([
    import("../policies/evaluate.js"),
    import("../policies/model.js"),
  ]);
  return auditReport(opts.uri, host, evaluate(fromLiveHost(host), { ...opts.evaluation, hostMemoryMiB: opts.hostMemoryMiB }));
}

/** Said (exit 2) when nothing on the host is bulkhead's: an audit of nothing proves nothing. */
export function noDomains(uri: string, prefix?: string): string {
  const scope = prefix === undefined ? "" : ` whose name starts with ${JSON.stringify(prefix)}`;
  return `no bulkhead domains${scope} on ${uri}, so there is nothing to audit; check --uri and --prefix (a layout's host.prefix)`;
}

/** The command: prints the report (or one error line) and returns the exit status. */
export async function runAudit(opts: AuditOptions & { json?: boolean }): Promise<number> {
  let report: AuditReport;
  try {
    report = await audit(opts);
  } catch (e) {
    if (!(e instanceof AuditError)) throw e;
    process.stderr.write(`bulkhead audit: ${printable(e.message.split("\n")[0])}\n`);
    return 2;
  }
  if (report.summary.domains === 0) {
    process.stderr.write(`bulkhead audit: ${noDomains(opts.uri, opts.prefix)}\n`);
    return 2;
  }
  process.stdout.write(opts.json === true ? JSON.stringify(report, null, 2) + "\n" : formatAuditText(report));
  return auditExitCode(report);
}
