// How a proof reads: a matrix (rows: source qube, columns: destinations),
// a summary line, the differences spelled out, and the layout picture with
// the observed flows drawn on it. Pure.
import { edge, node, quote } from "../render/dot";
import { layoutToDot } from "../render/graph";
import { formatTable } from "../render/table";
import type { ResolvedLayout } from "../layout/model";
import { DNS, HOST, INTERNET, sourcesOf, type Flow } from "./expected";
import type { Observed, ObservedFlow, ProveReport } from "./observe";

/** Mark of a cell where what was observed differs from what the layout says. */
export const MISMATCH = "!";

const what = (f: Flow) => (f.port === undefined ? f.proto : `${f.proto}/${f.port}`);

/** One cell: `pass`, `blocked`, or the probes that pass when only some do. */
export function cellText(verdicts: readonly { flow: Flow; v: Observed }[]): string {
  if (verdicts.length === 0) return "";
  if (verdicts.every((x) => x.v === "pass")) return "pass";
  if (verdicts.every((x) => x.v === "blocked")) return "blocked";
  const passing = [...new Set(verdicts.filter((x) => x.v === "pass").map((x) => what(x.flow)))];
  const unknown = verdicts.some((x) => x.v === "unknown") ? ["?"] : [];
  return [...passing, ...unknown].join(",") || "blocked";
}

export function destinationsOf(layout: ResolvedLayout): string[] {
  return [...sourcesOf(layout), HOST, INTERNET, DNS];
}

/** The matrix; `observed` absent gives the expected one (what `--expected` and the README show). */
export function matrix(layout: ResolvedLayout, flows: readonly (Flow | ObservedFlow)[], observed: boolean): string {
  const cols = destinationsOf(layout);
  const rows = sourcesOf(layout).map((src) => [
    src,
    ...cols.map((dst) => {
      const cell = flows.filter((f) => f.from === src && f.to === dst);
      if (cell.length === 0) return "-";
      const v = cell.map((f) => ({ flow: f, v: observed && "observed" in f ? f.observed : f.expect }));
      const differs = observed && cell.some((f) => "observed" in f && f.observed !== f.expect);
      return `${cellText(v)}${differs ? MISMATCH : ""}`;
    }),
  ]);
  return formatTable(["from \\ to", ...cols], rows);
}

export function summaryLine(r: ProveReport): string {
  const s = r.summary;
  const storage = `storage ${s.storageChecks - s.storageFailures}/${s.storageChecks} as expected`;
  const image = r.templateImage === undefined ? "" : `, template image ${r.templateImage.unchanged ? "unchanged" : "CHANGED"}`;
  return `${r.ok ? "PROVED" : "FAILED"}: ${s.flows - s.mismatches}/${s.flows} flows as expected (${s.expectedPass} must pass, ${s.expectedBlocked} must be blocked), ${s.mismatches} differ; ${storage}${image}; ${s.seconds.toFixed(0)} s`;
}

export function formatReport(layout: ResolvedLayout, r: ProveReport): string {
  const out = [`bulkhead prove ${r.layout} at ${r.uri}`, "", matrix(layout, r.flows, true), ""];
  out.push(`cells: pass = every probe passed, blocked = none did, a list = only those passed; ${MISMATCH} = observed differs from expected`);
  const diffs = r.flows.filter((f) => f.observed !== f.expect);
  if (diffs.length > 0) {
    out.push("", "differences (expected -> observed):");
    for (const f of diffs) out.push(`  ${f.id}: ${f.expect} -> ${f.observed}${f.note ? ` (${f.note})` : ""}; ${f.why}`);
  }
  if (r.storage.length > 0) {
    out.push("", "storage:");
    out.push(
      formatTable(
        ["qube", "boot", "check", "expected", "observed", "why"],
        r.storage.map((s) => [s.qube, String(s.boot), `${s.op} ${s.scope} ${s.name}`, s.expect, `${s.observed}${s.observed === s.expect ? "" : ` ${MISMATCH}`}`, s.why]),
      )
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n"),
    );
  }
  if (r.templateImage !== undefined) {
    const t = r.templateImage;
    out.push(`  template ${t.template} image ${t.path}: ${t.unchanged ? `unchanged (content sha256 ${t.before.slice(0, 16)}…)` : `CHANGED (${t.before.slice(0, 16)}… -> ${t.after.slice(0, 16)}…)`}`);
  }
  if (r.paths !== undefined && Object.keys(r.paths).length > 0) {
    const by = (p: string) => Object.entries(r.paths ?? {}).filter(([, v]) => v === p).map(([k]) => k);
    const parts = [["agent", "through the guest agent, in place"], ["restart", "restarted with a probes seed"]]
      .filter(([p]) => by(p!).length > 0)
      .map(([p, what]) => `${what}: ${by(p!).join(", ")}`);
    out.push("", `probed ${parts.join("; ")}`);
  }
  out.push("", summaryLine(r), "");
  return out.join("\n");
}

/** The layout picture with one edge per source and destination that passes (green) or differs (red). */
export function proveDot(layout: ResolvedLayout, flows: readonly ObservedFlow[]): string {
  const base = layoutToDot(layout).trimEnd();
  const lines = [base.slice(0, base.lastIndexOf("}")).trimEnd()];
  const templates = new Set(layout.templates.map((t) => t.name));
  const id = (n: string) => (n === HOST ? "host" : n === INTERNET || n === DNS ? `prove:${n}` : templates.has(n) ? `template:${n}` : `qube:${n}`);
  lines.push(node(id(INTERNET), { label: "internet host\n(lab)", shape: "ellipse", style: "filled", fillcolor: "#eeeeec" }));
  lines.push(node(id(DNS), { label: "DNS\n10.139.1.1", shape: "ellipse", style: "filled", fillcolor: "#eeeeec" }));
  const pairs = new Map<string, ObservedFlow[]>();
  for (const f of flows) pairs.set(`${f.from}\u0000${f.to}`, [...(pairs.get(`${f.from}\u0000${f.to}`) ?? []), f]);
  for (const cell of pairs.values()) {
    const differ = cell.filter((f) => f.observed !== f.expect);
    const passing = cell.filter((f) => f.observed === "pass");
    if (differ.length === 0 && passing.length === 0) continue;
    const label = differ.length > 0 ? `${MISMATCH} ${differ.map((f) => `${what(f)} ${f.observed}`).join(", ")}` : cellText(cell.map((f) => ({ flow: f, v: f.observed })));
    lines.push(
      edge(id(cell[0].from), id(cell[0].to), {
        label,
        color: differ.length > 0 ? "#cc0000" : "#4e9a06",
        fontcolor: differ.length > 0 ? "#cc0000" : "#4e9a06",
        style: differ.length > 0 ? "bold" : "dotted",
        constraint: "false",
      }),
    );
  }
  lines.push(`  graph [label=${quote(`bulkhead prove ${layout.source}\ngreen dotted: observed flows that pass; red bold: observed differs from expected`)}];`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
