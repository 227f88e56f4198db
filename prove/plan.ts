// Flows -> what each source qube is handed: `probes.txt` lines for the lab
// guest's probe runner (lab/guest/probes), and the storage checks, split into
// the boots that run them. Pure: the live part (observe.ts) only delivers and reads.
import type { ResolvedLayout, ResolvedQube } from "../layout/model";
import { sourcesOf, type Flow } from "./expected";

/** One network probe line and the flow it answers. */
export interface ProbeLine {
  id: string;
  flow: string;
  line: string;
}

export interface SourcePlan {
  source: string;
  /** Probes the guest runs; empty when the source cannot be booted to probe (templates). */
  probes: ProbeLine[];
  /** Flows observed from the live definition instead (no address to send to, or a template source). */
  byDefinition: string[];
}

/**
 * Network probes per source. Flows to a destination without an address cannot
 * be sent; they are observed from the destination's live definition (it has
 * no interface). Templates are not booted: booting one writes its image,
 * which the storage proof shows unchanged; their flows are observed from their
 * definition too.
 */
export function planProbes(layout: ResolvedLayout, flows: readonly Flow[]): SourcePlan[] {
  const templates = new Set(layout.templates.map((t) => t.name));
  return sourcesOf(layout).map((source) => {
    const plan: SourcePlan = { source, probes: [], byDefinition: [] };
    let n = 0;
    for (const f of flows) {
      if (f.from !== source) continue;
      if (templates.has(source) || f.address === undefined) {
        plan.byDefinition.push(f.id);
        continue;
      }
      const id = `p${++n}`;
      const line = f.proto === "icmp" ? `${id} icmp ${f.address}` : `${id} ${f.proto} ${f.address} ${String(f.port)}`;
      plan.probes.push({ id, flow: f.id, line });
    }
    return plan;
  });
}

// ---------------------------------------------------------------- storage

export type StorageOp = "write" | "exists";
export type StorageScope = "root" | "private" | "lib";

export interface StorageLine {
  id: string;
  op: StorageOp;
  scope: StorageScope;
  name: string;
  /** What the guest must print: written for a write, present or absent for exists. */
  expect: "written" | "present" | "absent";
  why: string;
  /**
   * Set on a check of another qube's writes (`s-<me>-sees-<other>`): that qube. Such a check
   * means something only while the other qube still holds its writes; a guest probed in place
   * (agent path) runs it while both run, before any restart.
   */
  about?: string;
}

export interface StorageBoot {
  qube: string;
  /** 1: first boot (writes); 2: after a restart (checks). */
  boot: 1 | 2;
  lines: StorageLine[];
}

export interface StoragePlan {
  /** Two AppVMs on one template, and a DispVM, when the layout has them. */
  appvms?: [string, string];
  dispvm?: string;
  /**
   * In order; boot 2 of the first AppVM runs while the second still holds its boot-1 writes
   * (restart path; the agent path runs the `about` checks in place while both run instead).
   */
  boots: StorageBoot[];
  /** The template whose image must be unchanged (the AppVMs' template). */
  template?: string;
}

const mark = (qube: string, scope: "root" | "private") => `bh-${qube}-${scope}`;

function line(id: string, op: StorageOp, scope: StorageScope, name: string, expect: StorageLine["expect"], why: string): StorageLine {
  return { id, op, scope, name, expect, why };
}

/** The file every lab template ships (lab/guest is installed as /lib/bulkhead). */
export const TEMPLATE_FILE = "probes";
/** The file every stock Debian template ships in /usr/lib, the agent runner's `lib` (prove/agent.ts). */
export const STOCK_TEMPLATE_FILE = "os-release";

/**
 * Storage checks: an AppVM's root writes vanish at restart while its private
 * ones stay; a DispVM keeps neither; two AppVMs on one template both see the
 * template's files and not each other's writes.
 */
export function planStorage(layout: ResolvedLayout, templateFile: (template: string) => string = () => TEMPLATE_FILE): StoragePlan {
  const appvms = layout.qubes.filter((q) => q.class === "AppVM" && q.privateBytes !== undefined && !q.templateForDispvms);
  let pair: [ResolvedQube, ResolvedQube] | undefined;
  for (const a of appvms) {
    const b = appvms.find((x) => x !== a && x.rootTemplate === a.rootTemplate);
    if (b !== undefined) {
      pair = [a, b];
      break;
    }
  }
  const disp = layout.qubes.find((q) => q.class === "DispVM");
  const plan: StoragePlan = { boots: [] };
  const writes = (q: string): StorageLine[] => [
    line(`s-${q}-w-root`, "write", "root", mark(q, "root"), "written", `${q} writes to its root`),
    line(`s-${q}-w-private`, "write", "private", mark(q, "private"), "written", `${q} writes to its private volume`),
  ];
  if (pair !== undefined) {
    const [a, b] = pair.map((q) => q.name);
    plan.appvms = [a, b];
    plan.template = pair[0].rootTemplate;
    plan.boots.push({ qube: a, boot: 1, lines: writes(a) }, { qube: b, boot: 1, lines: writes(b) });
    const checks = (me: string, other: string): StorageLine[] => [
      line(`s-${me}-root`, "exists", "root", mark(me, "root"), "absent", `${me}'s root is a copy-on-write view discarded at shutdown`),
      line(`s-${me}-private`, "exists", "private", mark(me, "private"), "present", `${me}'s private volume persists`),
      { ...line(`s-${me}-sees-${other}`, "exists", "root", mark(other, "root"), "absent", `${me} does not see ${other}'s root writes (same template)`), about: other },
      line(`s-${me}-template`, "exists", "lib", templateFile(pair![0].rootTemplate), "present", `${me} sees the template's files`),
    ];
    plan.boots.push({ qube: a, boot: 2, lines: checks(a, b) }, { qube: b, boot: 2, lines: checks(b, a) });
  }
  if (disp !== undefined) {
    const d = disp.name;
    plan.dispvm = d;
    plan.boots.push({ qube: d, boot: 1, lines: writes(d) });
    plan.boots.push({
      qube: d,
      boot: 2,
      lines: [
        line(`s-${d}-root`, "exists", "root", mark(d, "root"), "absent", `DispVM ${d} keeps no root writes`),
        line(`s-${d}-private`, "exists", "private", mark(d, "private"), "absent", `DispVM ${d} keeps no private writes`),
      ],
    });
  }
  return plan;
}

export function storageText(l: StorageLine): string {
  return `${l.id} ${l.op} ${l.scope} ${l.name}`;
}

/** The probes.txt a source is handed at a boot: storage lines first, then the network probes. */
export function probesFile(probes: readonly ProbeLine[], storage: readonly StorageLine[]): string {
  const lines = ["# written by bulkhead prove", ...storage.map(storageText), ...probes.map((p) => p.line)];
  return `${lines.join("\n")}\n`;
}

/** `bulkhead-probe <id> <word>` lines of a console log, by id (the last word wins). */
export function parseProbeResults(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of log.split(/\r\n|\r|\n/)) {
    const m = /bulkhead-probe (\S+) (pass|blocked|written|failed|present|absent)\s*$/.exec(raw);
    if (m !== null) out.set(m[1], m[2]);
  }
  return out;
}

/** Whether the console log shows the probe runner finished. */
export function probesDone(log: string): boolean {
  return /bulkhead: probes done/.test(log);
}

/**
 * Waves for re-probing what a first pass could not judge: `pending` maps each
 * source to the destinations it must probe again (they were not up long
 * enough while it probed). A wave's members boot together while everyone
 * else keeps running, so no member may be a destination of another member;
 * each wave holds at most `parallel` sources. Greedy, in the given order.
 */
export function recheckWaves(pending: ReadonlyMap<string, ReadonlySet<string>>, parallel: number): string[][] {
  const waves: string[][] = [];
  for (const source of pending.keys()) {
    const fits = (wave: string[]) =>
      wave.length < parallel && wave.every((other) => !pending.get(other)?.has(source) && !pending.get(source)?.has(other));
    const wave = waves.find(fits);
    if (wave === undefined) waves.push([source]);
    else wave.push(source);
  }
  return waves;
}
