// Observed reachability and storage on a deployed layout. A guest whose live
// definition has qemu-guest-agent's channel is probed in place: the probe
// runner (prove/agent.ts) runs through the agent on the running guest, started
// first if it was off; it is restarted only where restarting is what is being
// shown (storage after a restart). Other guests get probes through the channel
// the lab guests already read, the NoCloud seed: each such source's seed is
// rebuilt with `probes.txt` added (same files as components/seed.ts makes),
// uploaded over the seed volume, the qube restarted, and its serial console
// read for the results. Seeds are restored afterwards, and qubes that were off
// are shut off again. Runs only programs with argument arrays (virsh).
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { parseDomainXml } from "../libvirt/xml/domain";
import { domainName, rootVolumeName, seedVolumeName, serialLogPath, volumePath } from "../components/naming";
import { qubeSeed } from "../components/seed";
import { LAB_NAMESPACE, LAB_URI } from "../lab/host";
import type { ResolvedHost, ResolvedLayout, ResolvedQube } from "../layout/model";
import { seedFiles } from "../provider/image";
import { makeIso9660 } from "../provider/iso9660";
import { execResult } from "../libvirt/exec";
import { domainXml } from "../libvirt/host";
import { virsh, withTempFile } from "../libvirt/virsh";
import { agentProbes, agentReady, type AgentFlavour } from "./agent";
import { expectedFlows, LAB_WORLD, sourcesOf, type Flow, type Verdict, type World } from "./expected";
import {
  parseProbeResults,
  planProbes,
  planStorage,
  probesDone,
  probesFile,
  recheckWaves,
  STOCK_TEMPLATE_FILE,
  TEMPLATE_FILE,
  type ProbeLine,
  type StorageLine,
} from "./plan";
import { GUEST_AGENT_CHANNEL } from "../components/domain";

export type Observed = Verdict | "unknown";

export interface ObservedFlow extends Flow {
  observed: Observed;
  /** probe: a packet test from the source; definition: read from the live domain XML. */
  method: "probe" | "definition";
  note?: string;
}

export interface StorageResult extends StorageLine {
  qube: string;
  boot: 1 | 2;
  observed: string;
}

export interface ProveReport {
  layout: string;
  uri: string;
  ok: boolean;
  flows: ObservedFlow[];
  storage: StorageResult[];
  templateImage?: { template: string; path: string; before: string; after: string; unchanged: boolean };
  summary: { flows: number; expectedPass: number; expectedBlocked: number; mismatches: number; storageChecks: number; storageFailures: number; seconds: number };
  timings: { phase: string; seconds: number }[];
  /** How each source was probed: through its guest agent in place, or restarted with a probes seed. */
  paths?: Record<string, "agent" | "restart">;
}

export interface ObserveOptions {
  /** libvirt URI (default: the layout's host.uri). */
  uri?: string;
  world?: World;
  /** Seconds each probe keeps retrying before it counts as blocked (PROBE_DEADLINE). */
  deadline?: number;
  /** Qubes booting at once (TCG guests are slow; 2 cores). */
  parallel?: number;
  /** Seconds a qube gets from start to `bulkhead: probes done` beyond the deadline (restart path), or to cloud-init done (agent path; default 900). */
  bootTimeout?: number;
  progress?: (line: string) => void;
  /**
   * Prove only flows from these sources (storage is then skipped): a quick
   * re-proof after a change that only these sources' flows can show.
   */
  only?: readonly string[];
  /**
   * Network namespace of the libvirt host, which holds the world's host
   * addresses on its loopback while prove runs, so "no qube reaches the host"
   * is tested against addresses the host really answers on. Default: the
   * embedded lab's namespace when the URI is the lab's and it exists; null: none.
   */
  hostNamespace?: string | null;
  /**
   * Probe every source by restarting it with a probes seed, even where its
   * guest agent answers (the lab's busybox guests have both paths; a stock
   * guest has no seed runner and cannot take this one).
   */
  restart?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ip(args: readonly string[]): Promise<{ ok: boolean; stderr: string }> {
  return execResult("ip", args, { timeoutMs: 30_000 });
}

/** Puts `addresses` on the loopback of namespace `ns`; returns the undo (only what it added). */
async function holdAddresses(ns: string, addresses: readonly string[]): Promise<() => Promise<void>> {
  const added: string[] = [];
  for (const a of addresses) {
    const r = await ip(["-n", ns, "addr", "add", `${a}/32`, "dev", "lo"]);
    // "File exists" / "Address already assigned": the host holds it already, which is what the probe needs; leave it.
    if (r.ok) added.push(a);
    else if (!/exists|already assigned/i.test(r.stderr)) throw new Error(`cannot add ${a} to ${ns}'s loopback: ${r.stderr.trim()}`);
  }
  return async () => {
    for (const a of added) await ip(["-n", ns, "addr", "del", `${a}/32`, "dev", "lo"]);
  };
}

/** The seed a qube is deployed with, plus probes.txt and the probe deadline. */
export function probeSeedIso(host: ResolvedHost, qube: ResolvedQube, probesTxt: string | undefined, deadline: number): Buffer {
  const seed = qubeSeed(host, qube);
  if (probesTxt !== undefined) {
    seed.files = { ...seed.files, "bulkhead.env": `${seed.files?.["bulkhead.env"] ?? ""}PROBE_DEADLINE=${deadline}\n`, "probes.txt": probesTxt };
  }
  return makeIso9660("cidata", seedFiles(seed));
}

interface Boot {
  results: Map<string, string>;
  readyAt: number;
  doneAt: number;
}

class Lab {
  readonly host: ResolvedHost;
  /** Which probe runner each agent guest has (prove/agent.ts), learnt when it first answers. */
  readonly flavour = new Map<string, AgentFlavour>();
  private readonly progress: (line: string) => void;
  constructor(readonly layout: ResolvedLayout, uri: string, progress: (line: string) => void) {
    this.host = { ...layout.host, uri };
    this.progress = progress;
  }

  domain(qube: string): string {
    return domainName(this.host, qube);
  }

  async running(qube: string): Promise<boolean> {
    const state = await virsh(this.host.uri, ["domstate", "--domain", this.domain(qube)]);
    return state.trim() === "running";
  }

  /** From the live definition: how many interfaces, and whether it has the guest agent's channel. */
  async definition(name: string): Promise<{ interfaces: number; agent: boolean }> {
    const xml = await domainXml(this.host.uri, this.domain(name));
    const d = parseDomainXml(xml).devices;
    return { interfaces: d.interfaces.length, agent: (d.channels ?? []).some((c) => c.target.name === GUEST_AGENT_CHANNEL) };
  }

  /**
   * An agent guest, up and done with cloud-init: started if off (after a stop
   * when `restart`). Resolves to true if it was (re)started.
   */
  async agentUp(qube: string, restart: boolean, timeoutS: number): Promise<boolean> {
    const dom = this.domain(qube);
    if (restart) await this.stop(qube);
    const start = !(await this.running(qube));
    if (start) await virsh(this.host.uri, ["start", "--domain", dom]);
    this.flavour.set(qube, await agentReady(this.host.uri, dom, timeoutS));
    return start;
  }

  async uploadSeed(qube: string, iso: Buffer): Promise<void> {
    const vol = seedVolumeName(this.host, qube);
    await withTempFile("seed.iso", iso, (file) => virsh(this.host.uri, ["vol-upload", "--pool", this.host.pool, "--vol", vol, "--file", file]));
  }

  async stop(qube: string): Promise<void> {
    if (await this.running(qube)) await virsh(this.host.uri, ["destroy", "--domain", this.domain(qube)]);
  }

  /** Restarts a qube with `iso` as its seed and waits for its probes; `onReady` fires at `bulkhead: ready`. */
  async boot(qube: string, iso: Buffer, timeoutS: number, onReady: () => void): Promise<Boot> {
    const dom = this.domain(qube);
    await this.stop(qube);
    await this.uploadSeed(qube, iso);
    const log = serialLogPath(dom);
    // libvirt truncates a file serial at start unless it says append='on'; then
    // only what follows the old end is this boot's.
    const xml = await domainXml(this.host.uri, dom);
    const append = /<serial\b[^>]*>\s*<source\b[^>]*\bappend=['"]on['"]/.test(xml);
    const offset = append && existsSync(log) ? statSync(log).size : 0;
    const t0 = Date.now();
    await virsh(this.host.uri, ["start", "--domain", dom]);
    let readyAt = 0;
    while (Date.now() - t0 < timeoutS * 1000) {
      await sleep(500);
      if (!existsSync(log)) continue;
      const text = readFileSync(log, "latin1").slice(offset);
      if (readyAt === 0 && text.includes("bulkhead: ready")) {
        readyAt = Date.now();
        onReady();
      }
      if (probesDone(text)) {
        if (readyAt === 0) {
          readyAt = Date.now();
          onReady();
        }
        return { results: parseProbeResults(text), readyAt, doneAt: Date.now() };
      }
    }
    if (readyAt === 0) onReady();
    throw new Error(`${dom}: no "bulkhead: probes done" within ${timeoutS} s (serial log ${log})`);
  }
}

/** Runs `jobs` with at most `limit` of them between start and their `ready` signal. */
async function bounded<T>(items: readonly T[], limit: number, job: (item: T, ready: () => void) => Promise<void>): Promise<void> {
  let slots = limit;
  const waiters: (() => void)[] = [];
  const acquire = async () => {
    while (slots === 0) await new Promise<void>((r) => waiters.push(r));
    slots--;
  };
  const release = () => {
    slots++;
    waiters.shift()?.();
  };
  await Promise.all(
    items.map(async (item) => {
      await acquire();
      let released = false;
      const ready = () => {
        if (!released) {
          released = true;
          release();
        }
      };
      try {
        await job(item, ready);
      } finally {
        ready();
      }
    }),
  );
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Seconds a destination must have been up before the end of a source's probe window for "blocked" to count. */
const UP_MARGIN_S = 5;

/** Proves the layout deployed at `uri`: probes every flow and the storage semantics, then restores the seeds. */
export async function prove(layout: ResolvedLayout, opts: ObserveOptions = {}): Promise<ProveReport> {
  const t0 = Date.now();
  const progress = opts.progress ?? (() => undefined);
  const world = opts.world ?? LAB_WORLD;
  const deadline = opts.deadline ?? 30;
  const parallel = opts.parallel ?? 3;
  const bootTimeout = (opts.bootTimeout ?? 240) + deadline;
  // A stock guest (systemd, cloud-init in Python) takes 5-10x a busybox guest's boot under TCG.
  const agentBootTimeout = opts.bootTimeout ?? 900;
  const lab = new Lab(layout, opts.uri ?? layout.host.uri, progress);
  const only = opts.only === undefined ? undefined : new Set(opts.only);
  for (const name of only ?? []) {
    if (!layout.qubes.some((q) => q.name === name) && !layout.templates.some((t) => t.name === name)) throw new Error(`--only: ${name} is not a qube of ${layout.source}`);
  }
  const chosen = (name: string) => only === undefined || only.has(name);
  // A disposable template cannot run beside its DispVMs (their private is a
  // copy-on-write view of its private, which it holds write-locked), so it is
  // booted on its own; --only skips that unless it is listed, and flows to it.
  const dvmTemplates = new Set(layout.qubes.filter((q) => q.class === "DispVM").map((q) => q.template));
  const flows = expectedFlows(layout, world).filter((f) => chosen(f.from) && !(dvmTemplates.has(f.to) && !chosen(f.to)));
  const plans = planProbes(layout, flows);
  // The template's file a storage check looks for is the lab runner's; a stock guest's runner gets its own (STOCK_TEMPLATE_FILE).
  const storage = only === undefined ? planStorage(layout, () => TEMPLATE_FILE) : { boots: [] };
  const timings: { phase: string; seconds: number }[] = [];
  const phase = async (name: string, fn: () => Promise<void>) => {
    const t = Date.now();
    progress(`${name}…`);
    await fn();
    timings.push({ phase: name, seconds: (Date.now() - t) / 1000 });
    progress(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };

  const qubes = new Map(layout.qubes.map((q) => [q.name, q]));
  const wasRunning = new Map<string, boolean>();
  const ifaceCount = new Map<string, number>();
  /** Qubes whose live definition has the guest agent's channel: probed in place. */
  const agent = new Set<string>();
  for (const name of [...layout.templates.map((t) => t.name), ...layout.qubes.map((q) => q.name)]) {
    const def = await lab.definition(name);
    ifaceCount.set(name, def.interfaces);
    if (def.agent && qubes.has(name) && opts.restart !== true) agent.add(name);
    wasRunning.set(name, await lab.running(name));
  }

  const tmplPath = storage.template === undefined ? undefined : volumePath(lab.host, rootVolumeName(lab.host, storage.template));
  const before = tmplPath !== undefined && existsSync(tmplPath) ? await sha256File(tmplPath) : undefined;

  // Each probe's answer and the end of its source's probe window.
  const observedBy = new Map<string, { observed: Observed; doneAt: number }>();
  // When each qube was up (listening): a "blocked" is evidence only if its
  // destination was up for the last UP_MARGIN_S of the source's probes.
  const uptime = new Map<string, { from: number; to?: number }[]>();
  const markDown = (q: string) => {
    const last = uptime.get(q)?.at(-1);
    if (last !== undefined && last.to === undefined) last.to = Date.now();
  };
  const markUp = (q: string, at: number) => uptime.set(q, [...(uptime.get(q) ?? []), { from: at }]);
  const upThrough = (q: string, end: number) => (uptime.get(q) ?? []).some((i) => i.from <= end - UP_MARGIN_S * 1000 && (i.to === undefined || i.to >= end));
  for (const [q, running] of wasRunning) if (running) markUp(q, -Infinity);
  const storageResults: StorageResult[] = [];
  /** Flows that must pass, probed a second time after the first try was blocked. */
  const retried = new Set<string>();
  const touched = new Set<string>();
  const probeLines = new Map(plans.map((p) => [p.source, p.probes]));
  const flowById = new Map(flows.map((f) => [f.id, f]));
  const storageLines = (qube: string, boot: 1 | 2) => storage.boots.find((b) => b.qube === qube && b.boot === boot)?.lines ?? [];

  const runBoot = async (qube: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2) => {
    touched.add(qube);
    if (agent.has(qube)) {
      // In place: started only if off, restarted only for the checks after a restart.
      if (boot === 2 || !(await lab.running(qube))) markDown(qube);
      const started = await lab.agentUp(qube, boot === 2, agentBootTimeout);
      const readyAt = Date.now();
      if (started) markUp(qube, readyAt);
      ready();
      const flavour = lab.flavour.get(qube) ?? "stock";
      if (flavour === "stock") st = st.map((l) => (l.scope === "lib" && l.name === TEMPLATE_FILE ? { ...l, name: STOCK_TEMPLATE_FILE } : l));
      const out = await agentProbes(lab.host.uri, lab.domain(qube), probesFile(probes, st), deadline, deadline + 120, flavour);
      const res = { results: parseProbeResults(out), readyAt, doneAt: Date.now() };
      for (const p of probes) observedBy.set(p.flow, { observed: (res.results.get(p.id) as Verdict | undefined) ?? "unknown", doneAt: res.doneAt });
      for (const l of st) storageResults.push({ ...l, qube, boot, observed: res.results.get(l.id) ?? "missing" });
      progress(`${qube}: ${probes.length} probes, ${st.length} storage checks through the guest agent in ${((res.doneAt - readyAt) / 1000).toFixed(0)} s${started ? " after boot" : ""}`);
      return;
    }
    const iso = probeSeedIso(lab.host, qubes.get(qube)!, probesFile(probes, st), deadline);
    markDown(qube);
    const res = await lab.boot(qube, iso, bootTimeout, () => {
      markUp(qube, Date.now());
      ready();
    });
    for (const p of probes) observedBy.set(p.flow, { observed: (res.results.get(p.id) as Verdict | undefined) ?? "unknown", doneAt: res.doneAt });
    for (const l of st) storageResults.push({ ...l, qube, boot, observed: res.results.get(l.id) ?? "missing" });
    progress(`${qube}: ${probes.length} probes, ${st.length} storage checks in ${((res.doneAt - res.readyAt) / 1000).toFixed(0)} s after ready`);
  };

  const dispvmsOf = (t: string) => layout.qubes.filter((q) => q.class === "DispVM" && q.template === t).map((q) => q.name);
  const up = new Set(layout.qubes.filter((q) => wasRunning.get(q.name) === true).map((q) => q.name));
  const downAtProbe = new Map<string, string>();
  const noteDown = (source: string, probes: readonly ProbeLine[]) => {
    for (const p of probes) {
      const to = flowById.get(p.flow)!.to;
      if (qubes.has(to) && !up.has(to)) downAtProbe.set(p.flow, `${to} was not running while ${source} probed it`);
    }
  };
  const bootProbes = async (q: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2) => {
    noteDown(q, probes);
    up.add(q);
    await runBoot(q, probes, st, ready, boot);
  };
  const stopAll = async (names: readonly string[]) => {
    for (const n of names) {
      touched.add(n);
      markDown(n);
      await lab.stop(n);
      up.delete(n);
    }
  };
  /**
   * A client's "blocked" answer about another client that was not up through
   * the end of its probes. (Flows to qubes that are down on purpose, a
   * disposable template while its DispVMs run, keep their "not running" note.)
   */
  const unjudged = (flowId: string): boolean => {
    const o = observedBy.get(flowId);
    const { from, to } = flowById.get(flowId)!;
    // A source without a network interface reaches nothing, whoever is up.
    if (ifaceCount.get(from) === 0) return false;
    return o?.observed === "blocked" && clientSet.has(from) && clientSet.has(to) && !upThrough(to, o.doneAt);
  };
  const clients = layout.qubes.filter((q) => q.provides === undefined && !dvmTemplates.has(q.name) && chosen(q.name)).map((q) => q.name);
  const clientSet = new Set(clients);
  const toDvm = (p: ProbeLine) => dvmTemplates.has(flowById.get(p.flow)!.to);

  const ns = opts.hostNamespace !== undefined ? opts.hostNamespace : lab.host.uri === LAB_URI && existsSync(`/run/netns/${LAB_NAMESPACE}`) ? LAB_NAMESPACE : null;
  const release = ns === null ? async () => undefined : await holdAddresses(ns, world.hostAddresses);
  try {
    // Agent clients that are off boot first, all of them, so that every client
    // probes while every other one is up (no second round), in place.
    // Running agent providers must have finished cloud-init (their ruleset loaded) first.
    const off: string[] = [];
    for (const c of clients) if (agent.has(c) && !(await lab.running(c))) off.push(c);
    const providersUp: string[] = [];
    for (const q of layout.qubes) if (q.provides !== undefined && agent.has(q.name) && wasRunning.get(q.name) === true) providersUp.push(q.name);
    // A provider that is off forwards nothing: through its agent it is started with the clients.
    const providersOff = layout.qubes.filter((q) => q.provides !== undefined && agent.has(q.name) && wasRunning.get(q.name) !== true).map((q) => q.name);
    off.unshift(...providersOff);
    if (off.length > 0 || providersUp.length > 0) {
      await phase(`agent guests boot (${off.join(", ") || "none"}; providers ready: ${providersUp.join(", ") || "none"})`, async () => {
        await Promise.all([
          ...providersUp.map((p) => lab.agentUp(p, false, agentBootTimeout)),
          bounded(off, parallel, async (q, ready) => {
            touched.add(q);
            markDown(q);
            const t = Date.now();
            await lab.agentUp(q, false, agentBootTimeout);
            markUp(q, Date.now());
            up.add(q);
            progress(`${q}: booted, ${lab.flavour.get(q) === "lab" ? "ready" : "cloud-init done"} after ${((Date.now() - t) / 1000).toFixed(0)} s`);
            ready();
          }),
        ]);
      });
    }
    const providers = layout.qubes.filter((q) => q.provides !== undefined && chosen(q.name)).map((q) => q.name).reverse();
    const dvmsToBoot = [...dvmTemplates].filter(chosen);
    // A provider's probes to a disposable template run while that template runs (below).
    const providerLines = (p: string) => {
      const done = dvmsToBoot.some((t) => qubes.get(t)!.netvm === p);
      return (probeLines.get(p) ?? []).filter((x) => !(done && toDvm(x)));
    };
    // Every source answers through its agent: nothing restarts while it probes (one
    // guest-exec per source). Providers still probe after their clients, one at a time: probing
    // beside all their clients, every provider's own egress was observed blocked (dev.yaml
    // 12 of 14, the 14-qube layout 21 of 21; an idle sys-net passed the same probes at once).
    const allAgent = [...clients, ...providers, ...dvmsToBoot].every((q) => agent.has(q));
    await phase("clients probe", async () => {
      for (const c of clients) up.add(c);
      await bounded(clients, parallel, (q, ready) => runBoot(q, probeLines.get(q) ?? [], storageLines(q, 1), ready, 1));
    });
    // Clients booting in waves cannot judge "blocked" towards clients of later
    // waves (not up yet): those probes run again, now that every client is up,
    // in waves that never restart a source together with its destinations.
    const again = new Map<string, ProbeLine[]>();
    const pending = new Map<string, Set<string>>();
    for (const c of clients) {
      for (const p of (probeLines.get(c) ?? []).filter((x) => unjudged(x.flow))) {
        again.set(c, [...(again.get(c) ?? []), p]);
        pending.set(c, (pending.get(c) ?? new Set()).add(flowById.get(p.flow)!.to));
      }
    }
    if (again.size > 0) {
      await phase(`clients re-probe (${[...again.values()].reduce((n, l) => n + l.length, 0)} flows from ${again.size} clients)`, async () => {
        for (const wave of recheckWaves(pending, parallel)) {
          await bounded(wave, parallel, (q, ready) => runBoot(q, again.get(q)!, [], ready, 1));
        }
      });
    }
    // A flow that must pass but was blocked while clients booted around it (a
    // dozen emulated guests on two cores: the providers forwarding it starve)
    // gets one more try now that the clients are up and idle. Only "must pass"
    // flows are retried, so a retry can never hide an opened flow; the report
    // says which flows needed it.
    const retry = new Map<string, ProbeLine[]>();
    const retryTo = new Map<string, Set<string>>();
    const mustPassBlocked = (x: ProbeLine) => flowById.get(x.flow)!.expect === "pass" && observedBy.get(x.flow)?.observed === "blocked";
    for (const c of clients) {
      for (const p of (probeLines.get(c) ?? []).filter(mustPassBlocked)) {
        retry.set(c, [...(retry.get(c) ?? []), p]);
        retryTo.set(c, (retryTo.get(c) ?? new Set()).add(flowById.get(p.flow)!.to));
        retried.add(p.flow);
      }
    }
    if (retry.size > 0) {
      await phase(`clients retry (${retried.size} flows that must pass, from ${retry.size} clients)`, async () => {
        for (const wave of recheckWaves(retryTo, parallel)) {
          await bounded(wave, parallel, (q, ready) => runBoot(q, retry.get(q)!, [], ready, 1));
        }
      });
    }
    // Storage checks after a restart, in order: the first AppVM checks while the second still
    // holds its first-boot writes; a DispVM only once its disposable template is off again.
    const [storageA, storageB] = storage.appvms ?? [];
    const restarted = new Set<string>();
    const storageBoot2 = async (q: string, ready: () => void = () => undefined) => {
      restarted.add(q);
      await bootProbes(q, [], storageLines(q, 2), ready, 2);
    };
    if (dvmsToBoot.length > 0 && allAgent) {
      await phase("disposable templates probe (with their netvms)", async () => {
        for (const t of dvmsToBoot) await stopAll(dispvmsOf(t));
        await Promise.all(
          dvmsToBoot.map(async (t) => {
            touched.add(t);
            markDown(t);
            await lab.agentUp(t, false, agentBootTimeout);
            markUp(t, Date.now());
            up.add(t);
          }),
        );
        const netvms = new Set(dvmsToBoot.map((t) => qubes.get(t)!.netvm).filter((n): n is string => n !== null));
        const probing = [
          ...dvmsToBoot.map((t) => ({ source: t, lines: probeLines.get(t) ?? [], st: storageLines(t, 1) })),
          ...providers.filter((x) => netvms.has(x)).map((p) => ({ source: p, lines: (probeLines.get(p) ?? []).filter(toDvm), st: [] })),
        ];
        // An AppVM none of these probes reaches restarts for its storage checks meanwhile.
        const reached = new Set(probing.flatMap((x) => x.lines.map((l) => flowById.get(l.flow)!.to)));
        const free = (q: string | undefined): q is string => q !== undefined && !reached.has(q) && !dispvmsOf(q).length && !probing.some((x) => x.source === q);
        const early = async () => {
          if (!free(storageA)) return;
          await storageBoot2(storageA);
          if (free(storageB)) await storageBoot2(storageB);
        };
        const probed = Promise.all(probing.map((x) => bootProbes(x.source, x.lines, x.st, () => undefined, 1)));
        await Promise.all([probed, early()]);
        // One retry, while the templates still run, of what must pass and was blocked meanwhile.
        const again = probing.map((x) => ({ ...x, lines: x.lines.filter(mustPassBlocked) })).filter((x) => x.lines.length > 0);
        for (const x of again) for (const l of x.lines) retried.add(l.flow);
        await Promise.all(again.map((x) => bootProbes(x.source, x.lines, [], () => undefined, 1)));
        await stopAll(dvmsToBoot);
      });
    } else if (dvmsToBoot.length > 0) {
      await phase("disposable templates probe", async () => {
        for (const t of dvmsToBoot) {
          await stopAll(dispvmsOf(t));
          await bootProbes(t, chosen(t) ? (probeLines.get(t) ?? []) : [], storageLines(t, 1), () => undefined, 1);
        }
        // Their direct netvm probes them now, while they run.
        const netvms = new Set(dvmsToBoot.map((t) => qubes.get(t)!.netvm).filter((n): n is string => n !== null));
        for (const p of providers.filter((x) => netvms.has(x))) {
          await bootProbes(p, (probeLines.get(p) ?? []).filter(toDvm), [], () => undefined, 1);
        }
        await stopAll(dvmsToBoot);
      });
    }
    if (storage.boots.some((b) => b.boot === 2)) {
      await phase("storage after restart", async () => {
        const first = [storageA, storage.dispvm].filter((x): x is string => x !== undefined && !restarted.has(x));
        // Once the first AppVM has checked, the second may restart beside the DispVM.
        const b = storageB !== undefined && !restarted.has(storageB) ? storageB : undefined;
        if (b !== undefined && storageA !== undefined && restarted.has(storageA)) first.push(b);
        await bounded(first, parallel, (q, ready) => storageBoot2(q, ready));
        if (b !== undefined && !restarted.has(b)) await storageBoot2(b);
      });
    }
    // Providers last, one at a time, deepest first: their probes need their clients up.
    await phase("providers probe", async () => {
      for (const p of providers) await bootProbes(p, providerLines(p), [], () => undefined, 1);
    });
  } finally {
    await release();
    await phase("restore", async () => {
      for (const q of touched) {
        if (!agent.has(q)) await lab.uploadSeed(q, probeSeedIso(lab.host, qubes.get(q)!, undefined, deadline));
        if (wasRunning.get(q) !== true) await lab.stop(q);
      }
    });
  }
  const after = tmplPath !== undefined && existsSync(tmplPath) ? await sha256File(tmplPath) : undefined;

  const observedFlows: ObservedFlow[] = flows.map((f) => {
    const byDef = f.address === undefined || layout.templates.some((t) => t.name === f.from);
    if (byDef) {
      const who = layout.templates.some((t) => t.name === f.from) ? f.from : f.to;
      const n = ifaceCount.get(who) ?? -1;
      return n === 0
        ? { ...f, observed: "blocked", method: "definition", note: `${who}'s live definition has no network interface` }
        : { ...f, observed: "unknown", method: "definition", note: `${who} has ${n} interface(s) but no address to probe` };
    }
    const o = observedBy.get(f.id);
    const out: ObservedFlow = { ...f, observed: o?.observed ?? "unknown", method: "probe" };
    const down = downAtProbe.get(f.id);
    if (down !== undefined) out.note = down;
    if (retried.has(f.id)) out.note = `blocked at the first try, while other qubes booted; ${out.observed === "pass" ? "passed" : "blocked again"} on a retry`;
    if (unjudged(f.id)) {
      // A "blocked" is only evidence if the destination was up to answer.
      out.observed = "unknown";
      out.note = `${f.to} was not up for the last ${UP_MARGIN_S} s of ${f.from}'s probes`;
    }
    return out;
  });

  const mismatches = observedFlows.filter((f) => f.observed !== f.expect).length;
  const storageFailures = storageResults.filter((s) => s.observed !== s.expect).length;
  const templateImage =
    storage.template !== undefined && tmplPath !== undefined && before !== undefined && after !== undefined
      ? { template: storage.template, path: tmplPath, before, after, unchanged: before === after }
      : undefined;
  const seconds = (Date.now() - t0) / 1000;
  return {
    layout: layout.source,
    uri: lab.host.uri,
    ok: mismatches === 0 && storageFailures === 0 && (templateImage?.unchanged ?? true),
    flows: observedFlows,
    storage: storageResults,
    ...(templateImage ? { templateImage } : {}),
    summary: {
      flows: flows.length,
      expectedPass: flows.filter((f) => f.expect === "pass").length,
      expectedBlocked: flows.filter((f) => f.expect === "blocked").length,
      mismatches,
      storageChecks: storageResults.length,
      storageFailures,
      seconds,
    },
    timings,
    paths: Object.fromEntries(sourcesOf(layout).filter((n) => qubes.has(n) && chosen(n)).map((n) => [n, agent.has(n) ? ("agent" as const) : ("restart" as const)])),
  };
}
