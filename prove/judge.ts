// Judging a proof run (prove/observe.ts), without a host: which answers are
// evidence, which flows are probed again, and each flow's observed verdict and
// note. Pure: everything it reads is passed in.
import type { ResolvedLayout } from "../layout/model";
import type { Flow, Verdict } from "./expected";
import type { ProbeLine } from "./plan";

export type Observed = Verdict | "unknown";

export interface ObservedFlow extends Flow {
  observed: Observed;
  /** probe: a packet test from the source; definition: read from the live domain XML. */
  method: "probe" | "definition";
  note?: string;
}

/** Seconds a destination must have been up before the end of a source's probe window for "blocked" to count. */
export const UP_MARGIN_S = 5;

/** A probe's answer and the end of its source's probe window. */
export interface ProbeAnswer {
  observed: Observed;
  doneAt: number;
}

/** When each qube was up (listening), as intervals; `to` is absent while it still is. */
export type Uptime = Map<string, { from: number; to?: number }[]>;

/** Whether `qube` was up from UP_MARGIN_S before `end` through `end`. */
export function upThrough(uptime: Uptime, qube: string, end: number): boolean {
  return (uptime.get(qube) ?? []).some((i) => i.from <= end - UP_MARGIN_S * 1000 && (i.to === undefined || i.to >= end));
}

/** What judging reads of a run. */
export interface Evidence {
  flowById: ReadonlyMap<string, Flow>;
  observedBy: ReadonlyMap<string, ProbeAnswer>;
  uptime: Uptime;
  /** Interfaces of each qube's and template's live definition. */
  ifaceCount: ReadonlyMap<string, number>;
  /** The clients probed (not providers, not disposable templates). */
  clients: ReadonlySet<string>;
}

/**
 * A client's "blocked" answer about another client that was not up through
 * the end of its probes. (Flows to qubes that are down on purpose, a
 * disposable template while its DispVMs run, keep their "not running" note.)
 */
export function unjudged(e: Evidence, flowId: string): boolean {
  const o = e.observedBy.get(flowId);
  const { from, to } = e.flowById.get(flowId)!;
  // A source without a network interface reaches nothing, whoever is up.
  if (e.ifaceCount.get(from) === 0) return false;
  return o?.observed === "blocked" && e.clients.has(from) && e.clients.has(to) && !upThrough(e.uptime, to, o.doneAt);
}

/** A flow that must pass and was observed blocked. */
export function mustPassBlocked(e: Pick<Evidence, "flowById" | "observedBy">, x: ProbeLine): boolean {
  return e.flowById.get(x.flow)!.expect === "pass" && e.observedBy.get(x.flow)?.observed === "blocked";
}

/** Probes to run again: per source, its lines `pick` selects, and their destinations (for recheckWaves). */
export interface Recheck {
  lines: Map<string, ProbeLine[]>;
  to: Map<string, Set<string>>;
}

export function recheck(
  sources: readonly string[],
  probeLines: ReadonlyMap<string, readonly ProbeLine[]>,
  flowById: ReadonlyMap<string, Flow>,
  pick: (x: ProbeLine) => boolean,
): Recheck {
  const lines = new Map<string, ProbeLine[]>();
  const to = new Map<string, Set<string>>();
  for (const c of sources) {
    for (const p of (probeLines.get(c) ?? []).filter(pick)) {
      lines.set(c, [...(lines.get(c) ?? []), p]);
      to.set(c, (to.get(c) ?? new Set()).add(flowById.get(p.flow)!.to));
    }
  }
  return { lines, to };
}

/** Each expected flow with what was observed of it, and why where it needs saying. */
export function judgeFlows(
  layout: ResolvedLayout,
  flows: readonly Flow[],
  e: Evidence,
  downAtProbe: ReadonlyMap<string, string>,
  retried: ReadonlySet<string>,
): ObservedFlow[] {
  return flows.map((f) => {
    const byDef = f.address === undefined || layout.templates.some((t) => t.name === f.from);
    if (byDef) {
      const who = layout.templates.some((t) => t.name === f.from) ? f.from : f.to;
      const n = e.ifaceCount.get(who) ?? -1;
      return n === 0
        ? { ...f, observed: "blocked", method: "definition", note: `${who}'s live definition has no network interface` }
        : { ...f, observed: "unknown", method: "definition", note: `${who} has ${n} interface(s) but no address to probe` };
    }
    const o = e.observedBy.get(f.id);
    const out: ObservedFlow = { ...f, observed: o?.observed ?? "unknown", method: "probe" };
    const down = downAtProbe.get(f.id);
    if (down !== undefined) out.note = down;
    if (retried.has(f.id)) out.note = `blocked at the first try, while other qubes booted; ${out.observed === "pass" ? "passed" : "blocked again"} on a retry`;
    if (unjudged(e, f.id)) {
      // A "blocked" is only evidence if the destination was up to answer.
      out.observed = "unknown";
      out.note = `${f.to} was not up for the last ${UP_MARGIN_S} s of ${f.from}'s probes`;
    }
    return out;
  });
}
