// Pure rendering of benchmark results: the ratios, the goals, the Markdown
// table and an SVG plot. A tiny SVG writer of our own rather than a plotting
// library: two to four lines on linear axes need ~60 lines, no dependency and
// no system tool, and the output is byte-stable for tests.
import { checkTable, type CheckRow } from "./check";
import type { PeakRss } from "./procs";

/** The before/after deploys (per-step checkpoints, a virsh process per call) run up to this size only: at 200
 * qubes they took 221 s and 53 s of a 30-minute bench, and their point is made at 50 (bench/notes.md). */
export const BEFORE_AFTER_MAX_QUBES = 50;
const NOT_AT_SIZE = `not run above ${BEFORE_AFTER_MAX_QUBES} qubes`;

export type PeerPhase = "deploy" | "noop" | "change" | "destroy";

/** One tofu command: how it ended ("hung": nothing finished for a while, then killed), and when. */
export interface PeerRun {
  outcome: "ok" | "failed" | "hung" | "timeout";
  seconds: number;
  /** Resources it reported finished. */
  completed: number;
  error?: string;
  /** Peak RSS of tofu (engine) and terraform-provider-libvirt (provider); the peer has no program. */
  rss?: PeakRss;
}

export interface PeerMode {
  /** tofu -parallelism. */
  parallelism: number;
  /** A phase is missing when an earlier one failed (destroy is always attempted). */
  phases: Partial<Record<PeerPhase, PeerRun>>;
}

/** The peer (OpenTofu + terraform-provider-libvirt) on the same layout, in the same run. */
export interface PeerResult {
  /** Terraform resources in its configuration. */
  resources: number;
  modes: PeerMode[];
}

export interface SizeResult {
  /** Qubes in the layout (templates not counted). */
  qubes: number;
  /** libvirt resources the layout becomes. */
  resources: number;
  baseline: { deployS: number; calls: number };
  /** libvirt's floor: the baseline's calls through one persistent connection (one virsh session). */
  floor: { deployS: number; calls: number };
  /** bulkhead's deploy with a virsh process per call (before the persistent session); run up to BEFORE_AFTER_MAX_QUBES. */
  deployPerCallS?: number;
  peer?: PeerResult;
  /** The provider's handlers called in-process on the baseline's schedule (no engine). */
  handlersS: number;
  deployS: number;
  /** The same deploy with the engine's per-step checkpoints (Pulumi's default; not a goal figure); run up to BEFORE_AFTER_MAX_QUBES. */
  deployEveryStepS?: number;
  noopS: number;
  /** `engineChanges`: the engine's own count per operation (`stack history`), e.g. `{ same: 763, update: 1 }`. */
  change: { seconds: number; touched: string[]; engineChanges: Record<string, number> };
  offline: { checkS: number; previewS: number };
  rss: PeakRss;
  /** CPU seconds per process role during the first deploy and the no-op update. */
  cpu: { deploy: PeakRss; noop: PeakRss };
  disk: { poolBytes: number; templateBytes: number; copies: number };
}

export interface Machine {
  cpus: number;
  memoryBytes: number;
  cpuModel: string;
  kernel: string;
  libvirt: string;
  qemu: string;
  node: string;
  pulumi: string;
  parallel: number;
  /** 1/5/15-minute load averages when the run started (the lab host may be shared). */
  load: string;
}

export interface Ratios {
  /** bulkhead deploy / baseline deploy. */
  deployOverhead: number;
  /** bulkhead deploy / the single-connection floor. */
  deployOverFloor: number;
  /** no-op update / first deploy. */
  noopFraction: number;
  /** preview with policy pack / offline check. */
  offlineSpeedup: number;
  /** pool bytes / N full template copies. */
  diskFraction: number;
}

export function ratios(r: SizeResult): Ratios {
  return {
    deployOverhead: r.deployS / r.baseline.deployS,
    deployOverFloor: r.deployS / r.floor.deployS,
    noopFraction: r.noopS / r.deployS,
    offlineSpeedup: r.offline.previewS / r.offline.checkS,
    diskFraction: r.disk.poolBytes / (r.disk.templateBytes * r.disk.copies),
  };
}

export interface Goal {
  name: string;
  target: string;
  figure: string;
  met: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const times = (x: number) => `${x.toFixed(2)}x`;
const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
const secs = (s: number) => `${s.toFixed(1)} s`;

/** True when the engine reports one update and nothing else but unchanged resources. */
export function engineOnlyOneUpdate(changes: Record<string, number>): boolean {
  return Object.entries(changes).every(([op, n]) => op === "same" || (op === "update" && n === 1)) && changes["update"] === 1;
}

/** `nwfilter x (engine: same 43, update 1)`: what virsh changed, and what the engine says it did. */
export function touchedText(c: SizeResult["change"]): string {
  const objects = c.touched.length === 0 ? "nothing" : c.touched.join(", ");
  const engine = Object.entries(c.engineChanges).sort(([a], [b]) => (a < b ? -1 : 1)).map(([op, n]) => `${op} ${n}`).join(", ");
  return `${objects} (engine: ${engine})`;
}

/** The peer's fastest finished run of a phase over its modes (undefined: it never finished it). */
export function peerBest(p: PeerResult | undefined, phase: PeerPhase): { seconds: number; parallelism: number } | undefined {
  const ok = (p?.modes ?? []).flatMap((m) => (m.phases[phase]?.outcome === "ok" ? [{ seconds: m.phases[phase]!.seconds, parallelism: m.parallelism }] : []));
  return ok.sort((a, b) => a.seconds - b.seconds)[0];
}

/** "bulkhead faster than the peer at every size": per size, bulkhead's figure against the peer's fastest finished one. */
function beatsPeer(results: readonly SizeResult[], phase: PeerPhase, mine: (r: SizeResult) => number): { figure: string; met: boolean } | undefined {
  const withPeer = results.filter((r) => r.peer !== undefined);
  if (withPeer.length === 0) return undefined;
  const parts = withPeer.map((r) => {
    const best = peerBest(r.peer, phase);
    // A peer that never finished gives nothing to be faster than: not met, said so.
    return {
      met: best !== undefined && mine(r) < best.seconds,
      text: `${r.qubes}: ${secs(mine(r))} vs ${best === undefined ? "peer never finished (no comparison)" : `${secs(best.seconds)} (-parallelism=${best.parallelism})`}`,
    };
  });
  return { figure: parts.map((p) => p.text).join("; "), met: parts.every((p) => p.met) };
}

const sumRss = (r: PeakRss) => r.engine + r.provider + r.program;

/** The peer's peak RSS over its runs that sampled memory (the deploys). */
export function peerRss(p: PeerResult | undefined): PeakRss | undefined {
  const all = (p?.modes ?? []).flatMap((m) => Object.values(m.phases).flatMap((x) => (x?.rss ? [x.rss] : [])));
  if (all.length === 0) return undefined;
  return { engine: Math.max(...all.map((x) => x.engine)), provider: Math.max(...all.map((x) => x.provider)), program: Math.max(...all.map((x) => x.program)) };
}

/** The issue's goals, judged at the largest size measured (200 qubes in a full run), or at every size where they say so. */
export function goals(results: readonly SizeResult[]): Goal[] {
  const sorted = [...results].sort((a, b) => a.qubes - b.qubes);
  const r = sorted.at(-1);
  if (r === undefined) return [];
  const q = ratios(r);
  const at = `at ${r.qubes} qubes`;
  const onlyFilter = r.change.touched.length === 1 && r.change.touched[0]!.startsWith("nwfilter ") && engineOnlyOneUpdate(r.change.engineChanges);
  const peerGoals: Goal[] = [];
  const deploy = beatsPeer(sorted, "deploy", (x) => x.deployS);
  if (deploy) peerGoals.push({ name: "deploy faster than the peer (OpenTofu), every size", target: "faster", ...deploy });
  const noop = beatsPeer(sorted, "noop", (x) => x.noopS);
  if (noop) peerGoals.push({ name: "no-op faster than the peer's no-op, every size", target: "faster", ...noop });
  const mem = sorted.filter((x) => peerRss(x.peer) !== undefined);
  if (mem.length > 0) {
    const parts = mem.map((x) => ({ lower: sumRss(x.rss) < sumRss(peerRss(x.peer)!), text: `${x.qubes}: ${mib(sumRss(x.rss))} vs ${mib(sumRss(peerRss(x.peer)!))}` }));
    peerGoals.push({ name: "peak memory (engine + provider + program) against the peer's, every size", target: "reported; lower", figure: parts.map((p) => p.text).join("; "), met: parts.every((p) => p.lower) });
  }
  return [
    { name: "deploy against the single-connection floor", target: "at most 1.2x", figure: `${times(q.deployOverFloor)} ${at}`, met: q.deployOverFloor <= 1.2 },
    ...peerGoals.slice(0, 1),
    { name: "deploy overhead over plain virsh", target: "at most 1.5x", figure: `${times(q.deployOverhead)} ${at}`, met: q.deployOverhead <= 1.5 },
    { name: "no-op update / first deploy", target: "under 10%", figure: `${pct(q.noopFraction)} ${at}`, met: q.noopFraction < 0.1 },
    ...peerGoals.slice(1),
    {
      name: "one firewall rule changed",
      target: "one filter, nothing else",
      figure: `${touchedText(r.change)} in ${secs(r.change.seconds)} ${at}`,
      met: onlyFilter,
    },
    { name: "offline check vs preview with policy pack", target: "at least 50x faster", figure: `${times(q.offlineSpeedup)} ${at}`, met: q.offlineSpeedup >= 50 },
  ];
}

export function machineRows(m: Machine): string[][] {
  return [
    ["CPUs (nproc)", String(m.cpus)],
    ["memory", `${(m.memoryBytes / 1073741824).toFixed(1)} GiB`],
    ["CPU model", m.cpuModel],
    ["kernel", m.kernel],
    ["libvirt", m.libvirt],
    ["QEMU", m.qemu],
    ["Node.js", m.node],
    ["Pulumi CLI", m.pulumi],
    ["engine parallelism", `${m.parallel} (Pulumi's default, 4 x CPUs)`],
    ["load average at start", m.load],
  ];
}

export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  if (head === undefined) return "";
  const line = (r: readonly string[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
}

/** One row per size: absolute figures and the ratios against the same run's baselines. */
export function resultRows(results: readonly SizeResult[]): string[][] {
  const rows = [
    [
      "qubes",
      "libvirt objects",
      "baseline virsh deploy",
      "floor: one connection",
      "provider handlers alone",
      "bulkhead deploy",
      "overhead",
      "deploy / floor",
      "deploy, virsh per call (before)",
      "deploy, per-step checkpoints (Pulumi default)",
      "no-op update",
      "no-op / deploy",
      "one rule changed",
      "objects touched",
      "bulkhead check",
      "preview + policies",
      "check speedup",
      "peak RSS engine / provider / program",
      "pool on disk",
      "N full copies",
      "disk / copies",
    ],
  ];
  for (const r of [...results].sort((a, b) => a.qubes - b.qubes)) {
    const q = ratios(r);
    rows.push([
      String(r.qubes),
      String(r.resources),
      secs(r.baseline.deployS),
      secs(r.floor.deployS),
      secs(r.handlersS),
      secs(r.deployS),
      times(q.deployOverhead),
      times(q.deployOverFloor),
      r.deployPerCallS === undefined ? NOT_AT_SIZE : secs(r.deployPerCallS),
      r.deployEveryStepS === undefined ? NOT_AT_SIZE : `${secs(r.deployEveryStepS)} (${times(r.deployEveryStepS / r.baseline.deployS)})`,
      secs(r.noopS),
      pct(q.noopFraction),
      secs(r.change.seconds),
      touchedText(r.change),
      secs(r.offline.checkS),
      secs(r.offline.previewS),
      times(q.offlineSpeedup),
      `${mib(r.rss.engine)} / ${mib(r.rss.provider)} / ${mib(r.rss.program)}`,
      mib(r.disk.poolBytes),
      mib(r.disk.templateBytes * r.disk.copies),
      pct(q.diskFraction),
    ]);
  }
  return rows;
}

/** A peer run as a table cell: `106.2 s`, or `hung after 83 resources (240.0 s)`, `failed: …`. */
export function peerCell(x: PeerRun | undefined, skipped = "not run"): string {
  if (x === undefined) return skipped;
  if (x.outcome === "ok") return secs(x.seconds);
  const what = x.outcome === "hung" ? "hung" : x.outcome === "timeout" ? "timed out" : "failed";
  const error = x.error === undefined ? "" : `: ${(x.error.length > 160 ? `${x.error.slice(0, 160)}…` : x.error).replace(/\|/g, "\\|")}`;
  return `${what} after ${x.completed} resources (${secs(x.seconds)})${error}`;
}

/** The peer's no-op: an apply of the unchanged configuration that still finishes resources is no no-op, and says so. */
export function noopCell(x: PeerRun | undefined): string {
  const cell = peerCell(x, "skipped (deploy did not finish)");
  return x?.outcome === "ok" && x.completed > 0 ? `${cell} (not a no-op: ${x.completed} resources changed again)` : cell;
}

/** One row per size and peer mode, with bulkhead's figures of the same run beside it. */
export function peerRows(results: readonly SizeResult[]): string[][] {
  const rows = [["qubes", "tofu -parallelism", "Terraform resources", "peer deploy", "peer no-op", "peer one change", "peer destroy", "peak RSS tofu / provider", "bulkhead deploy / no-op", "peer deploy / bulkhead deploy"]];
  for (const r of [...results].sort((a, b) => a.qubes - b.qubes)) {
    for (const m of r.peer?.modes ?? []) {
      const d = m.phases.deploy;
      const rss = m.phases.deploy?.rss;
      rows.push([
        String(r.qubes),
        String(m.parallelism),
        String(r.peer!.resources),
        peerCell(d),
        noopCell(m.phases.noop),
        peerCell(m.phases.change, "skipped"),
        peerCell(m.phases.destroy),
        rss ? `${mib(rss.engine)} / ${mib(rss.provider)}` : "-",
        `${secs(r.deployS)} / ${secs(r.noopS)}`,
        d?.outcome === "ok" ? times(d.seconds / r.deployS) : "-",
      ]);
    }
  }
  return rows;
}

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `v`. */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].map((k) => k * p).find((m) => m >= v) ?? 10 * p);
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A line chart of `series` on linear axes, with a legend. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const W = 700;
  const H = 400;
  const L = 60;
  const R = 240;
  const T = 40;
  const B = 50;
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(...all.map((p) => p.x)));
  const yMax = niceMax(Math.max(...all.map((p) => p.y)));
  const px = (x: number) => (L + (x / xMax) * (W - L - R)).toFixed(1);
  const py = (y: number) => (H - B - (y / yMax) * (H - T - B)).toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    const y = (yMax * i) / 5;
    out.push(`<text x="${px(x)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`);
    out.push(`<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(y)}" text-anchor="end" dominant-baseline="middle">${y}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3" fill="${s.color}"/>`);
    const ly = T + 10 + i * 20;
    out.push(`<line x1="${W - R + 15}" y1="${ly}" x2="${W - R + 35}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${W - R + 40}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** The plot of BENCHMARKS.md: deploy time against layout size for bulkhead, the baselines and the peer. */
export function timePlot(results: readonly SizeResult[]): string {
  const pts = (f: (r: SizeResult) => number | undefined) => results.flatMap((r) => { const y = f(r); return y === undefined ? [] : [{ x: r.qubes, y }]; });
  /** The peer's finished runs of a phase at one parallelism (a failed or hung run has no point). */
  const peer = (phase: PeerPhase, parallelism: (p: number) => boolean) =>
    results.flatMap((r) => (r.peer?.modes ?? []).filter((m) => parallelism(m.parallelism) && m.phases[phase]?.outcome === "ok").map((m) => ({ x: r.qubes, y: m.phases[phase]!.seconds })));
  const peerSeries: Series[] = [
    { name: "peer tofu apply, -parallelism=1", color: "#1f618d", points: peer("deploy", (p) => p === 1) },
    { name: "peer tofu apply, default", color: "#5dade2", points: peer("deploy", (p) => p !== 1) },
    { name: "peer no-op apply (best)", color: "#117a65", points: results.flatMap((r) => { const b = peerBest(r.peer, "noop"); return b ? [{ x: r.qubes, y: b.seconds }] : []; }) },
  ].filter((s) => s.points.length > 0);
  return lineChart("Time against layout size", "qubes in the layout", "seconds", [
    ...peerSeries,
    { name: "bulkhead pulumi up", color: "#c0392b", points: pts((r) => r.deployS) },
    { name: "up, per-step checkpoints", color: "#e59866", points: pts((r) => r.deployEveryStepS) },
    { name: "up, virsh per call (before)", color: "#a04000", points: pts((r) => r.deployPerCallS) },
    { name: "plain virsh (baseline)", color: "#2c3e50", points: pts((r) => r.baseline.deployS) },
    { name: "one connection (floor)", color: "#7f8c8d", points: pts((r) => r.floor.deployS) },
    { name: "no-op pulumi up", color: "#27ae60", points: pts((r) => r.noopS) },
    { name: "preview + policies", color: "#8e44ad", points: pts((r) => r.offline.previewS) },
    { name: "bulkhead check", color: "#f39c12", points: pts((r) => r.offline.checkS) },
  ]);
}

export interface ReportInput {
  date: string;
  durationS: number;
  machine: Machine;
  results: SizeResult[];
  /** Path of the plot, relative to BENCHMARKS.md. */
  plotPath: string;
  /** Free text: what was changed and gained, how the figures were taken. */
  notes: string;
  /** `bulkhead check` at the size limits (bench/check.ts), when measured. */
  checks?: CheckRow[];
  /** Set while a run is still going (or was stopped): which sizes are in. */
  partial?: string;
}

export function renderReport(i: ReportInput): string {
  const g = goals(i.results);
  return [
    "# Benchmarks",
    "",
    i.partial === undefined
      ? `Written by \`npm run bench\` on ${i.date} (the whole run took ${secs(i.durationS)}). Every ratio compares two figures taken in the same run on the same lab host.`
      : `Written by \`npm run bench\` on ${i.date}, part-way through a run (${i.partial}, ${secs(i.durationS)} so far). Every ratio compares two figures taken in the same run on the same lab host.`,
    "",
    "## Goals",
    "",
    markdownTable([["goal", "target", "measured", "met"], ...g.map((x) => [x.name, x.target, x.figure, x.met ? "met" : "NOT met"])]),
    "",
    "## Results",
    "",
    markdownTable(resultRows(i.results)),
    "",
    ...(i.results.some((r) => r.peer !== undefined)
      ? ["## The peer: OpenTofu and terraform-provider-libvirt", "", "Same layouts, same lab host, same run (after bulkhead's objects are gone). What its configuration leaves out, and how each cell is taken: see \"The peer\" below.", "", markdownTable(peerRows(i.results)), ""]
      : []),
    `![time against layout size](${i.plotPath})`,
    "",
    ...(i.checks === undefined
      ? []
      : ["## `bulkhead check` at the size limits", "", "Each a whole `bulkhead check --json` process on a generated layout (bench/check.ts); no lab. Its CPU: the process's own user + system time; load: the host's 1-minute load average as it started (the goal is the wall time).", "", markdownTable(checkTable(i.checks)), ""]),
    "## Machine",
    "",
    markdownTable([["", ""], ...machineRows(i.machine)]),
    "",
    i.notes.trim(),
    "",
  ].join("\n");
}
