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
import { existsSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
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
import { judgeFlows, mustPassBlocked, recheck, unjudged, type Evidence, type Observed, type ObservedFlow, type ProbeAnswer, type Recheck, type Uptime } from "./judge";
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
  type StoragePlan,
} from "./plan";
import { dispvmsOf, dvmTemplatesOf, providerLines, schedule, storageRestartOrder, toDvmOf, type Schedule } from "./schedule";
import { GUEST_AGENT_CHANNEL } from "../components/domain";

export type { Observed, ObservedFlow };

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
  /** Seconds each probe keeps retrying before it counts as blocked (PROBE_DEADLINE); default 30 on the restart path, 10 through the guest agent. */
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
  /** Agent guests this run saw ready (cloud-init done) and has not stopped or started since. */
  private readonly ready = new Set<string>();
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
    // Found ready earlier in this run and neither stopped nor started since: no second wait
    // (a ping and two guest-execs, seconds under emulation, at every round of its probes).
    if (!start && this.ready.has(qube)) return false;
    this.ready.delete(qube);
    if (start) await virsh(this.host.uri, ["start", "--domain", dom]);
    this.flavour.set(qube, await agentReady(this.host.uri, dom, timeoutS));
    this.ready.add(qube);
    return start;
  }

  async uploadSeed(qube: string, iso: Buffer): Promise<void> {
    const vol = seedVolumeName(this.host, qube);
    await withTempFile("seed.iso", iso, (file) => virsh(this.host.uri, ["vol-upload", "--pool", this.host.pool, "--vol", vol, "--file", file]));
  }

  async stop(qube: string): Promise<void> {
    this.ready.delete(qube);
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

/**
 * The byte ranges of a file that may hold data (the rest are holes, zeros by definition), from
 * `qemu-img map -f raw` (the filesystem's SEEK_DATA map of the file itself, whatever its image
 * format); the whole file if that is not available.
 */
async function dataRanges(path: string, size: number): Promise<{ start: number; end: number }[]> {
  const whole = [{ start: 0, end: size }];
  const r = await execResult("qemu-img", ["map", "--output=json", "-f", "raw", path]);
  if (!r.ok) return whole;
  try {
    const map = JSON.parse(r.stdout) as { start: number; length: number; data: boolean }[];
    return map.filter((x) => x.data).map((x) => ({ start: x.start, end: x.start + x.length }));
  } catch {
    return whole;
  }
}

/**
 * The content of a (usually sparse) image as one sha256: over each 4 MiB block that is not all
 * zeros, with its offset, then the file's size. Any change of content changes it, as a hash of
 * the whole file would; holes are skipped (`dataRanges`) and zero blocks compared, not hashed
 * (sha256 of every byte of a mostly empty 8 GiB raw template took 51 s here, twice per proof).
 * `scanAll` reads every block, holes included (the same digest, for tests).
 */
export async function contentDigest(path: string, opts: { scanAll?: boolean } = {}): Promise<string> {
  const BLOCK = 4 << 20;
  const zero = Buffer.alloc(BLOCK);
  const buf = Buffer.alloc(BLOCK);
  const hash = createHash("sha256");
  const word = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const ranges = opts.scanAll === true ? [{ start: 0, end: size }] : await dataRanges(path, size);
    // Every block that overlaps a range that may hold data, once, in order.
    const blocks = new Set<number>();
    for (const r of ranges) for (let b = Math.floor(r.start / BLOCK); b * BLOCK < Math.min(r.end, size); b++) blocks.add(b);
    for (const b of [...blocks].sort((x, y) => x - y)) {
      const offset = b * BLOCK;
      const { bytesRead } = await fh.read(buf, 0, Math.min(BLOCK, size - offset), offset);
      const chunk = buf.subarray(0, bytesRead);
      if (!chunk.equals(zero.subarray(0, bytesRead))) hash.update(word(offset)).update(chunk);
    }
    hash.update(word(size));
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

/** What a run is given and plans before it reads the host. */
interface ProveConfig {
  layout: ResolvedLayout;
  lab: Lab;
  world: World;
  /** Restart path: seconds each probe retries before it counts as blocked. */
  deadline: number;
  /** Agent path: the same, for a source that probes in place (every destination already up). */
  agentDeadline: number;
  parallel: number;
  /** Restart path: seconds from start to `bulkhead: probes done`. */
  bootTimeout: number;
  /** Agent path: seconds from start to cloud-init done. */
  agentBootTimeout: number;
  progress: (line: string) => void;
  chosen: (name: string) => boolean;
  flows: Flow[];
  probeLines: Map<string, ProbeLine[]>;
  storage: StoragePlan;
}

function configure(layout: ResolvedLayout, opts: ObserveOptions): ProveConfig {
  const progress = opts.progress ?? (() => undefined);
  const world = opts.world ?? LAB_WORLD;
  // A guest that has just booted probes while its destinations may still be booting: 30 s. Through
  // the agent a source probes in place once every destination is up (the boots come first):
  // 10 s, two to three bounded connect attempts per probe. --deadline sets both.
  const deadline = opts.deadline ?? 30;
  const agentDeadline = opts.deadline ?? 10;
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
  // A disposable template is booted on its own (schedule.ts): --only skips it unless it is listed, and flows to it.
  const dvmTemplates = dvmTemplatesOf(layout);
  const flows = expectedFlows(layout, world).filter((f) => chosen(f.from) && !(dvmTemplates.has(f.to) && !chosen(f.to)));
  const plans = planProbes(layout, flows);
  // The template's file a storage check looks for is the lab runner's; a stock guest's runner gets its own (STOCK_TEMPLATE_FILE).
  const storage = only === undefined ? planStorage(layout, () => TEMPLATE_FILE) : { boots: [] };
  const probeLines = new Map(plans.map((p) => [p.source, p.probes]));
  return { layout, lab, world, deadline, agentDeadline, parallel, bootTimeout, agentBootTimeout, progress, chosen, flows, probeLines, storage };
}

/** What the live definitions say before anything boots. */
interface Live {
  wasRunning: Map<string, boolean>;
  ifaceCount: Map<string, number>;
  /** Qubes whose live definition has the guest agent's channel: probed in place. */
  agent: Set<string>;
}

async function readLive(lab: Lab, layout: ResolvedLayout, restart: boolean | undefined): Promise<Live> {
  const qubes = new Set(layout.qubes.map((q) => q.name));
  const live: Live = { wasRunning: new Map(), ifaceCount: new Map(), agent: new Set() };
  const names = [...layout.templates.map((t) => t.name), ...layout.qubes.map((q) => q.name)];
  // Read at once (two virsh calls each), recorded in layout order.
  const read = await Promise.all(names.map(async (name) => ({ name, def: await lab.definition(name), running: await lab.running(name) })));
  for (const { name, def, running } of read) {
    live.ifaceCount.set(name, def.interfaces);
    if (def.agent && qubes.has(name) && restart !== true) live.agent.add(name);
    live.wasRunning.set(name, running);
  }
  return live;
}

/** Holds the world's host addresses in the libvirt host's namespace (ObserveOptions.hostNamespace); returns the undo. */
async function holdHostAddresses(lab: Lab, world: World, hostNamespace: string | null | undefined): Promise<() => Promise<void>> {
  const ns = hostNamespace !== undefined ? hostNamespace : lab.host.uri === LAB_URI && existsSync(`/run/netns/${LAB_NAMESPACE}`) ? LAB_NAMESPACE : null;
  return ns === null ? async () => undefined : await holdAddresses(ns, world.hostAddresses);
}

const imageHash = async (path: string | undefined) => (path !== undefined && existsSync(path) ? await contentDigest(path) : undefined);

const noReady = () => undefined;

/** One proof run's state, and its phases in the order prove() runs them. */
class ProveRun {
  readonly timings: { phase: string; seconds: number }[] = [];
  readonly qubes: Map<string, ResolvedQube>;
  readonly flowById: Map<string, Flow>;
  readonly sched: Schedule;
  readonly toDvm: (x: ProbeLine) => boolean;
  /** Each probe's answer and the end of its source's probe window. */
  readonly observedBy = new Map<string, ProbeAnswer>();
  /** When each qube was up (listening): a "blocked" is evidence only if its destination was up for the last UP_MARGIN_S of the source's probes. */
  readonly uptime: Uptime = new Map();
  readonly evidence: Evidence;
  readonly storageResults: StorageResult[] = [];
  /** Flows that must pass, probed a second time after the first try was blocked. */
  readonly retried = new Set<string>();
  /** Qubes this run started, stopped or reseeded: restored at the end. */
  readonly touched = new Set<string>();
  /** Qubes up (or booting to probe) now, for the "not running" notes. */
  readonly up: Set<string>;
  readonly downAtProbe = new Map<string, string>();
  /** Qubes whose storage checks after a restart have run. */
  readonly restarted = new Set<string>();

  constructor(
    readonly cfg: ProveConfig,
    readonly live: Live,
  ) {
    const { layout, flows } = cfg;
    this.qubes = new Map(layout.qubes.map((q) => [q.name, q]));
    this.flowById = new Map(flows.map((f) => [f.id, f]));
    this.sched = schedule(layout, cfg.chosen, live.agent, live.wasRunning);
    this.toDvm = toDvmOf(this.flowById, dvmTemplatesOf(layout));
    for (const [q, running] of live.wasRunning) if (running) this.markUp(q, -Infinity);
    this.up = new Set(layout.qubes.filter((q) => live.wasRunning.get(q.name) === true).map((q) => q.name));
    this.evidence = { flowById: this.flowById, observedBy: this.observedBy, uptime: this.uptime, ifaceCount: live.ifaceCount, clients: new Set(this.sched.clients) };
  }

  async phase(name: string, fn: () => Promise<void>): Promise<void> {
    const t = Date.now();
    this.cfg.progress(`${name}…`);
    await fn();
    this.timings.push({ phase: name, seconds: (Date.now() - t) / 1000 });
    this.cfg.progress(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  markDown(q: string): void {
    const last = this.uptime.get(q)?.at(-1);
    if (last !== undefined && last.to === undefined) last.to = Date.now();
  }

  markUp(q: string, at: number): void {
    this.uptime.set(q, [...(this.uptime.get(q) ?? []), { from: at }]);
  }

  storageLines(qube: string, boot: 1 | 2): StorageLine[] {
    return this.cfg.storage.boots.find((b) => b.qube === qube && b.boot === boot)?.lines ?? [];
  }

  lines(source: string): ProbeLine[] {
    return this.cfg.probeLines.get(source) ?? [];
  }

  /** Runs `probes` and `st` from `qube`, through its agent or by restarting it with a probes seed. */
  runBoot(qube: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2): Promise<void> {
    this.touched.add(qube);
    return this.live.agent.has(qube) ? this.probeInPlace(qube, probes, st, ready, boot) : this.probeByRestart(qube, probes, st, ready, boot);
  }

  async probeInPlace(qube: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2): Promise<void> {
    const { lab, agentBootTimeout, agentDeadline: deadline } = this.cfg;
    // In place: started only if off, restarted only for the checks after a restart.
    if (boot === 2 || !(await lab.running(qube))) this.markDown(qube);
    const started = await lab.agentUp(qube, boot === 2, agentBootTimeout);
    const readyAt = Date.now();
    if (started) this.markUp(qube, readyAt);
    ready();
    const flavour = lab.flavour.get(qube) ?? "stock";
    if (flavour === "stock") st = st.map((l) => (l.scope === "lib" && l.name === TEMPLATE_FILE ? { ...l, name: STOCK_TEMPLATE_FILE } : l));
    // Bounded, but not below what an emulated guest needs for many concurrent probes while two dozen
    // others probe too (30 qubes: 116 probes per source took 143-150 s; a fixed 130 s ended the proof).
    const out = await agentProbes(lab.host.uri, lab.domain(qube), probesFile(probes, st), deadline, deadline + 120 + 2 * (probes.length + st.length), flavour);
    const res = { results: parseProbeResults(out), readyAt, doneAt: Date.now() };
    this.record(qube, boot, probes, st, res);
    this.cfg.progress(`${qube}: ${probes.length} probes, ${st.length} storage checks through the guest agent in ${((res.doneAt - readyAt) / 1000).toFixed(0)} s${started ? " after boot" : ""}`);
  }

  async probeByRestart(qube: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2): Promise<void> {
    const { lab, bootTimeout, deadline } = this.cfg;
    const iso = probeSeedIso(lab.host, this.qubes.get(qube)!, probesFile(probes, st), deadline);
    this.markDown(qube);
    const res = await lab.boot(qube, iso, bootTimeout, () => {
      this.markUp(qube, Date.now());
      ready();
    });
    this.record(qube, boot, probes, st, res);
    this.cfg.progress(`${qube}: ${probes.length} probes, ${st.length} storage checks in ${((res.doneAt - res.readyAt) / 1000).toFixed(0)} s after ready`);
  }

  record(qube: string, boot: 1 | 2, probes: readonly ProbeLine[], st: readonly StorageLine[], res: Boot): void {
    for (const p of probes) this.observedBy.set(p.flow, { observed: (res.results.get(p.id) as Verdict | undefined) ?? "unknown", doneAt: res.doneAt });
    for (const l of st) this.storageResults.push({ ...l, qube, boot, observed: res.results.get(l.id) ?? "missing" });
  }

  /** runBoot, noting first which destinations are down while `q` probes them. */
  async bootProbes(q: string, probes: readonly ProbeLine[], st: readonly StorageLine[], ready: () => void, boot: 1 | 2): Promise<void> {
    for (const p of probes) {
      const to = this.flowById.get(p.flow)!.to;
      if (this.qubes.has(to) && !this.up.has(to)) this.downAtProbe.set(p.flow, `${to} was not running while ${q} probed it`);
    }
    this.up.add(q);
    await this.runBoot(q, probes, st, ready, boot);
  }

  /** Stops `names` at once (a `virsh destroy` each: under emulation a QEMU takes seconds to go). */
  async stopAll(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (n) => {
        this.touched.add(n);
        this.markDown(n);
        await this.cfg.lab.stop(n);
        this.up.delete(n);
      }),
    );
  }

  /** Starts an off disposable template through its agent and waits for it (cloud-init done), marking it up. */
  async agentBoot(q: string): Promise<void> {
    this.touched.add(q);
    this.markDown(q);
    await this.cfg.lab.agentUp(q, false, this.cfg.agentBootTimeout);
    this.markUp(q, Date.now());
    this.up.add(q);
  }

  /**
   * Agent clients that are off boot first, all of them, so that every client
   * probes while every other one is up (no second round), in place. Running
   * agent providers must have finished cloud-init (their ruleset loaded) first;
   * a provider that is off forwards nothing: through its agent it is started with the clients.
   */
  async bootAgentGuests(): Promise<void> {
    const { lab, parallel, agentBootTimeout, progress } = this.cfg;
    const { agentClients, agentProviders } = this.sched;
    const off: string[] = [];
    for (const c of agentClients) if (!(await lab.running(c))) off.push(c);
    off.unshift(...agentProviders.off);
    if (off.length === 0 && agentProviders.running.length === 0) return;
    await this.phase(`agent guests boot (${off.join(", ") || "none"}; providers ready: ${agentProviders.running.join(", ") || "none"})`, async () => {
      await Promise.all([
        ...agentProviders.running.map((p) => lab.agentUp(p, false, agentBootTimeout)),
        bounded(off, parallel, async (q, ready) => {
          this.touched.add(q);
          this.markDown(q);
          const t = Date.now();
          await lab.agentUp(q, false, agentBootTimeout);
          this.markUp(q, Date.now());
          this.up.add(q);
          progress(`${q}: booted, ${lab.flavour.get(q) === "lab" ? "ready" : "cloud-init done"} after ${((Date.now() - t) / 1000).toFixed(0)} s`);
          ready();
        }),
      ]);
    });
  }

  async probeClients(): Promise<void> {
    const { clients } = this.sched;
    await this.phase("clients probe", async () => {
      for (const c of clients) this.up.add(c);
      await bounded(clients, this.cfg.parallel, (q, ready) => this.runBoot(q, this.lines(q), this.storageLines(q, 1), ready, 1));
    });
  }

  /** Runs `r`'s probes again, in waves that never restart a source together with its destinations. */
  async recheckInWaves(r: Recheck): Promise<void> {
    for (const wave of recheckWaves(r.to, this.cfg.parallel)) {
      await bounded(wave, this.cfg.parallel, (q, ready) => this.runBoot(q, r.lines.get(q)!, [], ready, 1));
    }
  }

  /**
   * Clients booting in waves cannot judge "blocked" towards clients of later
   * waves (not up yet): those probes run again, now that every client is up.
   */
  async reprobeClients(): Promise<void> {
    const again = recheck(this.sched.clients, this.cfg.probeLines, this.flowById, (x) => unjudged(this.evidence, x.flow));
    if (again.lines.size === 0) return;
    await this.phase(`clients re-probe (${[...again.lines.values()].reduce((n, l) => n + l.length, 0)} flows from ${again.lines.size} clients)`, () => this.recheckInWaves(again));
  }

  /**
   * A flow that must pass but was blocked while clients booted around it (a
   * dozen emulated guests on two cores: the providers forwarding it starve)
   * gets one more try now that the clients are up and idle. Only "must pass"
   * flows are retried, so a retry can never hide an opened flow; the report
   * says which flows needed it.
   */
  async retryClients(): Promise<void> {
    const retry = recheck(this.sched.clients, this.cfg.probeLines, this.flowById, (x) => mustPassBlocked(this.evidence, x));
    for (const lines of retry.lines.values()) for (const p of lines) this.retried.add(p.flow);
    if (retry.lines.size === 0) return;
    await this.phase(`clients retry (${this.retried.size} flows that must pass, from ${retry.lines.size} clients)`, () => this.recheckInWaves(retry));
  }

  /** Of `lines`, those that must pass and were blocked, marked as retried (the report says so). */
  toRetry(lines: readonly ProbeLine[]): ProbeLine[] {
    const again = lines.filter((l) => mustPassBlocked(this.evidence, l));
    for (const l of again) this.retried.add(l.flow);
    return again;
  }

  /** A storage check after a restart (the DispVM's only once its disposable template is off again). */
  async storageBoot2(q: string, ready: () => void = noReady): Promise<void> {
    this.restarted.add(q);
    await this.bootProbes(q, [], this.storageLines(q, 2), ready, 2);
  }

  dvmNetvms(): Set<string> {
    return new Set(this.sched.dvmsToBoot.map((t) => this.qubes.get(t)!.netvm).filter((n): n is string => n !== null));
  }

  async probeDvmTemplates(): Promise<void> {
    if (this.sched.dvmsToBoot.length === 0) return;
    if (this.sched.allAgent) await this.probeDvmTemplatesTogether();
    else await this.probeDvmTemplatesInTurn();
  }

  /** Every disposable template up at once through its agent, probed with its netvms' probes to it; AppVMs they do not reach restart meanwhile. */
  async probeDvmTemplatesTogether(): Promise<void> {
    const { layout } = this.cfg;
    const { dvmsToBoot, providers } = this.sched;
    await this.phase("disposable templates probe (with their netvms)", async () => {
      for (const t of dvmsToBoot) await this.stopAll(dispvmsOf(layout, t));
      await Promise.all(dvmsToBoot.map((t) => this.agentBoot(t)));
      const netvms = this.dvmNetvms();
      const probing = [
        ...dvmsToBoot.map((t) => ({ source: t, lines: this.lines(t), st: this.storageLines(t, 1) })),
        ...providers.filter((x) => netvms.has(x)).map((p) => ({ source: p, lines: this.lines(p).filter(this.toDvm), st: [] })),
      ];
      // An AppVM none of these probes reaches restarts for its storage checks meanwhile.
      const [storageA, storageB] = this.cfg.storage.appvms ?? [];
      const reached = new Set(probing.flatMap((x) => x.lines.map((l) => this.flowById.get(l.flow)!.to)));
      const free = (q: string | undefined): q is string => q !== undefined && !reached.has(q) && !dispvmsOf(layout, q).length && !probing.some((x) => x.source === q);
      const early = async () => {
        if (!free(storageA)) return;
        await this.storageBoot2(storageA);
        if (free(storageB)) await this.storageBoot2(storageB);
      };
      const probed = Promise.all(probing.map((x) => this.bootProbes(x.source, x.lines, x.st, noReady, 1)));
      await Promise.all([probed, early()]);
      // One retry, while the templates still run, of what must pass and was blocked meanwhile.
      const again = probing.map((x) => ({ ...x, lines: this.toRetry(x.lines) })).filter((x) => x.lines.length > 0);
      await Promise.all(again.map((x) => this.bootProbes(x.source, x.lines, [], noReady, 1)));
      await this.stopAll(dvmsToBoot);
    });
  }

  /** One disposable template at a time with its DispVMs off, then their direct netvms probe them while they run. */
  async probeDvmTemplatesInTurn(): Promise<void> {
    const { layout, chosen } = this.cfg;
    const { dvmsToBoot, providers } = this.sched;
    await this.phase("disposable templates probe", async () => {
      for (const t of dvmsToBoot) {
        await this.stopAll(dispvmsOf(layout, t));
        await this.bootProbes(t, chosen(t) ? this.lines(t) : [], this.storageLines(t, 1), noReady, 1);
      }
      // Their direct netvm probes them now, while they run.
      const netvms = this.dvmNetvms();
      for (const p of providers.filter((x) => netvms.has(x))) {
        await this.bootProbes(p, this.lines(p).filter(this.toDvm), [], noReady, 1);
      }
      await this.stopAll(dvmsToBoot);
    });
  }

  /** Storage checks after a restart not run yet, in order: the first AppVM checks while the second still holds its first-boot writes. */
  async storageAfterRestart(): Promise<void> {
    if (!this.cfg.storage.boots.some((b) => b.boot === 2)) return;
    await this.phase("storage after restart", async () => {
      const { first, after } = storageRestartOrder(this.cfg.storage, this.restarted);
      await bounded(first, this.cfg.parallel, (q, ready) => this.storageBoot2(q, ready));
      if (after !== undefined && !this.restarted.has(after)) await this.storageBoot2(after);
    });
  }

  /**
   * Providers last, one at a time, deepest first: their probes need their clients up. Probing
   * beside all their clients, every provider's own egress was observed blocked (dev.yaml 12 of
   * 14, the 14-qube layout 21 of 21; an idle sys-net passed the same probes at once).
   */
  async probeProviders(): Promise<void> {
    const { layout } = this.cfg;
    const { providers, dvmsToBoot } = this.sched;
    const lines = (p: string) => providerLines(layout, dvmsToBoot, this.cfg.probeLines, this.toDvm, p);
    // Through their agents nothing restarts: the lab's busybox providers probe together, their
    // clients up and idle. On the restart path a provider's restart cuts its clients off, and stock
    // guests (systemd, bash runners, several times the CPU under emulation) were only ever proven
    // one provider at a time: those stay one at a time.
    const together = providers.every((p) => this.live.agent.has(p) && this.cfg.lab.flavour.get(p) === "lab");
    await this.phase(together ? "providers probe (together, through their agents)" : "providers probe (one at a time)", async () => {
      if (together) await Promise.all(providers.map((p) => this.bootProbes(p, lines(p), [], noReady, 1)));
      else for (const p of providers) await this.bootProbes(p, lines(p), [], noReady, 1);
      // One retry, one provider at a time, of what must pass and was blocked (three providers
      // probing at once through one another, 14 qubes: 6 of their 12 egress flows were starved);
      // as for clients, only must-pass flows, so a retry cannot hide an opened flow.
      for (const p of providers) {
        const again = this.toRetry(lines(p));
        if (again.length > 0) await this.bootProbes(p, again, [], noReady, 1);
      }
    });
  }

  /** Seeds back as deployed, and qubes that were off shut off again. */
  async restore(): Promise<void> {
    const { lab, deadline } = this.cfg;
    await this.phase("restore", async () => {
      // Each qube on its own (its seed, then its stop), all at once: nothing here depends on another qube.
      await Promise.all(
        [...this.touched].map(async (q) => {
          if (!this.live.agent.has(q)) await lab.uploadSeed(q, probeSeedIso(lab.host, this.qubes.get(q)!, undefined, deadline));
          if (this.live.wasRunning.get(q) !== true) await lab.stop(q);
        }),
      );
    });
  }

  report(t0: number, templateImage: ProveReport["templateImage"]): ProveReport {
    const { layout, flows, lab, chosen } = this.cfg;
    const observedFlows = judgeFlows(layout, flows, this.evidence, this.downAtProbe, this.retried);
    const mismatches = observedFlows.filter((f) => f.observed !== f.expect).length;
    const storageFailures = this.storageResults.filter((s) => s.observed !== s.expect).length;
    const seconds = (Date.now() - t0) / 1000;
    return {
      layout: layout.source,
      uri: lab.host.uri,
      ok: mismatches === 0 && storageFailures === 0 && (templateImage?.unchanged ?? true),
      flows: observedFlows,
      storage: this.storageResults,
      ...(templateImage ? { templateImage } : {}),
      summary: {
        flows: flows.length,
        expectedPass: flows.filter((f) => f.expect === "pass").length,
        expectedBlocked: flows.filter((f) => f.expect === "blocked").length,
        mismatches,
        storageChecks: this.storageResults.length,
        storageFailures,
        seconds,
      },
      timings: this.timings,
      paths: Object.fromEntries(sourcesOf(layout).filter((n) => this.qubes.has(n) && chosen(n)).map((n) => [n, this.live.agent.has(n) ? ("agent" as const) : ("restart" as const)])),
    };
  }
}

/** Proves the layout deployed at `uri`: probes every flow and the storage semantics, then restores the seeds. */
export async function prove(layout: ResolvedLayout, opts: ObserveOptions = {}): Promise<ProveReport> {
  const t0 = Date.now();
  const cfg = configure(layout, opts);
  const { lab, storage } = cfg;
  const steps: { phase: string; seconds: number }[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const v = await fn();
    steps.push({ phase: name, seconds: (Date.now() - t) / 1000 });
    cfg.progress(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return v;
  };
  const live = await step("live definitions", () => readLive(lab, layout, opts.restart));
  const tmplPath = storage.template === undefined ? undefined : volumePath(lab.host, rootVolumeName(lab.host, storage.template));
  const before = await step("template image digest, before", () => imageHash(tmplPath));
  const run = new ProveRun(cfg, live);
  run.timings.push(...steps.splice(0));
  const release = await step("host addresses held", () => holdHostAddresses(lab, cfg.world, opts.hostNamespace));
  try {
    await run.bootAgentGuests();
    await run.probeClients();
    await run.reprobeClients();
    await run.retryClients();
    await run.probeDvmTemplates();
    await run.storageAfterRestart();
    await run.probeProviders();
  } finally {
    await release();
    await run.restore();
  }
  const after = await step("template image digest, after", () => imageHash(tmplPath));
  run.timings.push(...steps);
  const templateImage =
    storage.template !== undefined && tmplPath !== undefined && before !== undefined && after !== undefined
      ? { template: storage.template, path: tmplPath, before, after, unchanged: before === after }
      : undefined;
  return run.report(t0, templateImage);
}
