// `npm run bench`: how bulkhead's cost grows with the size of a layout, each
// figure against a baseline taken in the same run on the lab host. Per size:
// plain-virsh baseline (create, then remove), `pulumi up` from empty, a no-op
// `up`, one firewall rule changed, `bulkhead check` against `pulumi preview
// --policy-pack`, peak RSS, disk; then everything is destroyed. Qubes never
// start (autostart: false), so the host's memory is not the limit.
//
//   node dist/bench/run.js [--sizes 10,50,200] [--parallel N] [--out BENCHMARKS.md]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { stringify } from "yaml";
import { compileResources } from "../components/compile";
import { makeIso9660 } from "../provider/iso9660";
import { seedFiles } from "../provider/image";
import { execResult } from "../libvirt/exec";
import { virsh, virshIfExists } from "../libvirt/virsh";
import { LAB_URI, startLab } from "../lab/lab";
import { loadLayout } from "../layout/load";
import { generateLayout } from "../scripts/gen-layout";
import { REPO, capture, engineDir, mustPulumi, pulumi } from "../deploy/engine";
import { oneConnection, runPlan } from "./baseline";
import { runCheckCases } from "./check";
import { runHandlers } from "./direct";
import { callCounts, planBaseline } from "./calls";
import { PEER, peerConfig, resourceCount, runTofu } from "./peer";
import { peerRoleOf, sampleTree, type PeakRss } from "./procs";
import { BEFORE_AFTER_MAX_QUBES, type Machine, type PeerMode, type PeerPhase, type PeerResult, type PeerRun, type SizeResult, renderReport, timePlot } from "./report";
import { parseLog, touchedObjects } from "./virshlog";
import { VirshSessions } from "../libvirt/session";
import { useSessions } from "../libvirt/virsh";
import { VOLUME_TYPE } from "../libvirt/tokens";

interface Options {
  sizes: number[];
  parallel: number;
  out: string;
  /** Run the peer (OpenTofu + terraform-provider-libvirt) too. */
  peer: boolean;
  /** Measure nothing: render the report again from a saved run (.bulkhead/bench.json). */
  render?: string;
}

export function parseArgs(argv: readonly string[], cpusCount: number): Options {
  const opts: Options = { sizes: [10, 50, 200], parallel: 4 * cpusCount, out: join(REPO, "BENCHMARKS.md"), peer: true };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === "--no-peer") {
      opts.peer = false;
      continue;
    }
    if (argv[i] === "--sizes" && v !== undefined) opts.sizes = v.split(",").map(Number);
    else if (argv[i] === "--parallel" && v !== undefined) opts.parallel = Number(v);
    else if (argv[i] === "--out" && v !== undefined) opts.out = v;
    else if (argv[i] === "--render" && v !== undefined) opts.render = v;
    else throw new Error(`unknown or incomplete option ${argv[i]}; usage: bench [--sizes 10,50,200] [--parallel N] [--out FILE] [--no-peer] [--render bench.json]`);
    i++;
  }
  if (opts.sizes.some((n) => !Number.isInteger(n) || n < 7)) throw new Error("--sizes: whole numbers of at least 7 qubes");
  if (!Number.isInteger(opts.parallel) || opts.parallel < 1) throw new Error("--parallel: a whole number of at least 1");
  return opts;
}

const log = (s: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);
const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Every object name of ours starts with this; cleanup refuses anything else. */
const PREFIX_ROOT = "bench";

interface Bench {
  n: number;
  prefix: string;
  pool: string;
  poolPath: string;
  stack: string;
  work: string;
  layoutFile: string;
  env: Record<string, string>;
}

function setup(n: number, tag = ""): Bench {
  const work = mkdtempSync(join(tmpdir(), "bulkhead-bench-"));
  return {
    n,
    prefix: `${PREFIX_ROOT}${tag}${n}-`,
    pool: `${PREFIX_ROOT}${tag}${n}-pool`,
    poolPath: `/var/lib/libvirt/${PREFIX_ROOT}${tag}${n}`,
    stack: `bench-${n}`,
    work,
    layoutFile: join(work, "layout.yaml"),
    env: { BULKHEAD_BACKEND_URL: `file://${join(work, "state")}` },
  };
}

/** The generated lab layout of `n` qubes, under the bench's own prefix and pool, with nothing autostarting and no data kept. */
export function benchLayout(n: number, host: { prefix: string; pool: string; poolPath: string }): ReturnType<typeof generateLayout> {
  const l = generateLayout(n, { lab: true });
  Object.assign(l.host, host);
  // The bench destroys and redeploys: its qubes opt in to losing their (empty) private volumes,
  // so a destroy removes them as every other object (docs/layout.md, discard_data).
  for (const [k, q] of Object.entries(l.qubes)) {
    l.qubes[k] = { ...q, autostart: false, ...(q.class === "DispVM" ? {} : { discard_data: true }) } as typeof q;
  }
  return l;
}

/** The one change: the HTTPS rule of `work-1` now allows 8443 instead of 443. */
export function changeOneRule(l: ReturnType<typeof generateLayout>): void {
  const rule = l.qubes["work-1"]?.firewall?.find((r) => r.dstports === 443);
  if (rule === undefined) throw new Error("the generated layout has no work-1 HTTPS rule to change");
  rule.dstports = 8443;
}

async function names(args: string[]): Promise<string[]> {
  return (await virsh(LAB_URI, args)).split("\n").map((s) => s.trim()).filter((s) => s !== "");
}

async function quietly(p: Promise<unknown>): Promise<void> {
  await p.catch(() => undefined);
}

/** Everything of ours on the host, as `kind name` lines (empty when clean). */
async function leftovers(b: Bench): Promise<string[]> {
  const mine = (l: string[]) => l.filter((x) => x.startsWith(b.prefix));
  const out: string[] = [];
  for (const d of mine(await names(["list", "--all", "--name"]))) out.push(`domain ${d}`);
  for (const x of mine(await names(["net-list", "--all", "--name"]))) out.push(`network ${x}`);
  for (const f of mine((await names(["nwfilter-list"])).slice(2).map((l) => l.split(/\s+/)[1] ?? ""))) out.push(`nwfilter ${f}`);
  for (const p of mine(await names(["pool-list", "--all", "--name"]))) out.push(`pool ${p}`);
  return out;
}

/** Removes what a stopped run left for size `n` (`tag` "peer-" for the peer's side); returns what is left. */
export async function cleanupSize(n: number, tag = ""): Promise<string[]> {
  const b = setup(n, tag);
  try {
    await cleanup(b);
    return await leftovers(b);
  } finally {
    rmSync(b.work, { recursive: true, force: true });
  }
}

/** Removes every object with the bench's prefix (a previous run interrupted, or a failed destroy). */
async function cleanup(b: Bench): Promise<void> {
  if (!b.prefix.startsWith(PREFIX_ROOT)) throw new Error(`refusing to clean up ${b.prefix}`);
  const mine = (l: string[]) => l.filter((x) => x.startsWith(b.prefix));
  for (const d of mine(await names(["list", "--all", "--name"]))) {
    await quietly(virsh(LAB_URI, ["destroy", "--domain", d]));
    await quietly(virsh(LAB_URI, ["undefine", "--managed-save", "--snapshots-metadata", "--domain", d]));
  }
  for (const x of mine(await names(["net-list", "--all", "--name"]))) {
    await quietly(virsh(LAB_URI, ["net-destroy", "--network", x]));
    await quietly(virsh(LAB_URI, ["net-undefine", "--network", x]));
  }
  for (const f of mine((await names(["nwfilter-list"])).slice(2).map((l) => l.split(/\s+/)[1] ?? ""))) {
    await quietly(virsh(LAB_URI, ["nwfilter-undefine", "--nwfilter", f]));
  }
  if ((await names(["pool-list", "--all", "--name"])).includes(b.pool)) {
    // A destroy that failed half-way (the peer's, on a pool whose directory kept files) can leave
    // the pool defined but stopped: start it so its volumes can be listed and deleted.
    await quietly(virsh(LAB_URI, ["pool-start", "--pool", b.pool]));
    const vols = (await virshIfExists(LAB_URI, ["vol-list", "--pool", b.pool]).catch(() => "")) ?? "";
    for (const v of vols.split("\n").slice(2).map((l) => l.trim().split(/\s+/)[0] ?? "").filter((v) => v !== "")) {
      await quietly(virsh(LAB_URI, ["vol-delete", "--pool", b.pool, "--vol", v]));
    }
    await quietly(virsh(LAB_URI, ["pool-destroy", "--pool", b.pool]));
    await quietly(virsh(LAB_URI, ["pool-undefine", "--pool", b.pool]));
  }
  rmSync(b.poolPath, { recursive: true, force: true });
}

/** Allocated bytes under a directory (`du --block-size=1`: blocks, not apparent sizes). */
async function allocatedBytes(path: string): Promise<number> {
  return Number((await capture("du", ["-s", "--block-size=1", path])).split(/\s+/)[0]);
}

/** Runs `pulumi args` for the bench's stack; returns seconds, output and the tree's peak RSS. */
async function timedPulumi(b: Bench, args: string[], extraEnv: Record<string, string> = {}): Promise<{ s: number; stdout: string; rss: PeakRss; cpu: PeakRss }> {
  let sampler: ReturnType<typeof sampleTree> | undefined;
  const t0 = performance.now();
  const r = await pulumi([...args, "--stack", b.stack], { stream: false, env: { ...b.env, ...extraEnv }, onSpawn: (pid) => (sampler = sampleTree(pid)) });
  const s = seconds(t0);
  const { rss, cpu } = sampler?.stop() ?? { rss: { engine: 0, provider: 0, program: 0 }, cpu: { engine: 0, provider: 0, program: 0 } };
  if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${`${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-30).join("\n")}`);
  return { s, stdout: r.stdout, rss, cpu };
}

/**
 * Env that makes the provider log each virsh call it makes (BULKHEAD_VIRSH_LOG,
 * in the format of bench/virshlog.ts's PATH wrapper, which cannot see the
 * commands sent to a persistent virsh session).
 */
async function wrappedEnv(_b: Bench, logFile: string): Promise<Record<string, string>> {
  writeFileSync(logFile, "");
  return { BULKHEAD_VIRSH_LOG: logFile };
}

async function warm(file: string): Promise<void> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    while ((await fh.read(buf, 0, buf.length)).bytesRead > 0);
  } finally {
    await fh.close();
  }
}

async function time(file: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await execResult(file, args, { cwd: REPO, timeoutMs: 0 });
  if (!r.ok) throw new Error(`${file} ${args.join(" ")}: ${r.stderr}`);
  return seconds(t0);
}

async function benchSize(n: number, parallel: number): Promise<SizeResult> {
  const b = setup(n);
  const layout = benchLayout(n, { prefix: b.prefix, pool: b.pool, poolPath: b.poolPath });
  writeFileSync(b.layoutFile, stringify(layout));
  await cleanup(b);
  try {
    // 1. Baseline: the provider's define/create calls with plain virsh, same parallelism.
    const resources = compileResources(loadLayout(b.layoutFile));
    const plan = planBaseline(resources, {
      fileSize: (f) => statSync(f).size,
      seedSize: (seed) => makeIso9660("cidata", seedFiles(seed)).length,
    });
    log(`${n} qubes: ${plan.length} libvirt objects; baseline calls ${JSON.stringify(callCounts(plan))}`);
    // Template images into the page cache first, so neither side pays the first read.
    for (const r of resources) if (r.inputs["source"] !== undefined) await warm(String((r.inputs["source"] as { file: string }).file));
    const base = await runPlan(plan, parallel);
    log(`${n} qubes: baseline virsh deploy ${(base.ms / 1000).toFixed(1)} s (${base.calls} calls)`);
    await runPlan(plan, parallel, true);
    rmSync(b.poolPath, { recursive: true, force: true });
    let left = await leftovers(b);
    if (left.length > 0) throw new Error(`baseline removal left ${left.join(", ")}`);

    // The floor: the same calls through one persistent connection (one virsh session).
    const conn = oneConnection();
    let floor: Awaited<ReturnType<typeof runPlan>>;
    try {
      floor = await runPlan(plan, parallel, false, conn.runner);
      log(`${n} qubes: floor, one virsh session ${(floor.ms / 1000).toFixed(1)} s (${floor.calls} calls)`);
      await runPlan(plan, parallel, true, conn.runner);
    } finally {
      conn.close();
    }
    rmSync(b.poolPath, { recursive: true, force: true });
    left = await leftovers(b);
    if (left.length > 0) throw new Error(`floor removal left ${left.join(", ")}`);

    // Where the time goes: the provider's own handlers in-process, same schedule, no engine,
    // with the provider's persistent virsh session.
    const pool = new VirshSessions(1);
    useSessions(pool);
    let direct: Awaited<ReturnType<typeof runHandlers>>;
    try {
      direct = await runHandlers(plan, resources, parallel);
    } finally {
      useSessions(undefined);
      pool.close();
    }
    rmSync(b.poolPath, { recursive: true, force: true });
    log(`${n} qubes: provider handlers alone ${(direct.createMs / 1000).toFixed(1)} s`);
    left = await leftovers(b);
    if (left.length > 0) throw new Error(`handler removal left ${left.join(", ")}`);

    // 2. bulkhead: pulumi up from empty (no preview: the deploy itself).
    await mustPulumi(["stack", "init", b.stack], { stream: false, env: b.env });
    await mustPulumi(["config", "set", "bulkhead:layout", b.layoutFile, "--stack", b.stack], { stream: false, env: b.env });
    const deploy = await timedPulumi(b, ["up", "--yes", "--skip-preview"]);
    log(`${n} qubes: pulumi up ${deploy.s.toFixed(1)} s; peak RSS engine ${mb(deploy.rss.engine)}, provider ${mb(deploy.rss.provider)}, program ${mb(deploy.rss.program)}; CPU ${cpuText(deploy.cpu)}`);

    // 7. Disk: the pool against N full copies of the template's image.
    const template = resources.find((r) => r.type === VOLUME_TYPE && r.inputs["source"] !== undefined);
    const templateFile = join(b.poolPath, String(template?.inputs["name"]));
    const disk = { poolBytes: await allocatedBytes(b.poolPath), templateBytes: await allocatedBytes(templateFile), copies: n };

    // 3. No-op update, with the virsh log to show it touches nothing.
    const noopLog = join(b.work, "noop.log");
    const noop = await timedPulumi(b, ["up", "--yes", "--skip-preview"], await wrappedEnv(b, noopLog));
    const noopCalls = parseLog(readFileSync(noopLog, "utf8"));
    log(`${n} qubes: no-op up ${noop.s.toFixed(1)} s, ${noopCalls.length} virsh calls; CPU ${cpuText(noop.cpu)}`);

    // 4. One firewall rule changed.
    changeOneRule(layout);
    writeFileSync(b.layoutFile, stringify(layout));
    const changeLog = join(b.work, "change.log");
    const change = await timedPulumi(b, ["up", "--yes", "--skip-preview"], await wrappedEnv(b, changeLog));
    const changeCalls = parseLog(readFileSync(changeLog, "utf8"));
    const history = JSON.parse((await mustPulumi(["stack", "history", "--json", "--stack", b.stack], { stream: false, env: b.env })).stdout) as { resourceChanges?: Record<string, number> }[];
    const engineChanges = history[0]?.resourceChanges ?? {};
    const touched = touchedObjects(changeCalls);
    log(`${n} qubes: one rule changed ${change.s.toFixed(1)} s; touched ${touched.join(", ") || "nothing"}; virsh calls ${changeCalls.map((c) => c.command).join(" ")}`);

    // 5. Offline check against preview with the policy pack, same layout.
    const checkS = await time(process.execPath, [join(REPO, "bin", "bulkhead"), "check", b.layoutFile]);
    const preview = await timedPulumi(b, ["preview", "--policy-pack", join(REPO, "policies")]);
    log(`${n} qubes: bulkhead check ${checkS.toFixed(1)} s, preview with policies ${preview.s.toFixed(1)} s`);

    // What bulkhead's end-of-run checkpoint saves: the same deploy again with
    // Pulumi's default, the file backend rewriting the whole state after every
    // step (quadratic in the layout's size; see deploy/engine.ts checkpointEnv).
    let everyStep: Awaited<ReturnType<typeof timedPulumi>> | undefined;
    let perCall: Awaited<ReturnType<typeof timedPulumi>> | undefined;
    if (n <= BEFORE_AFTER_MAX_QUBES) {
      await destroyQuickly(b);
      rmSync(b.poolPath, { recursive: true, force: true });
      everyStep = await timedPulumi(b, ["up", "--yes", "--skip-preview"], { BULKHEAD_CHECKPOINTS: "every-step" });
      log(`${n} qubes: pulumi up with per-step checkpoints ${everyStep.s.toFixed(1)} s; CPU ${cpuText(everyStep.cpu)}`);

      // Before the persistent connection: the same deploy with a virsh process per call.
      await destroyQuickly(b);
      rmSync(b.poolPath, { recursive: true, force: true });
      perCall = await timedPulumi(b, ["up", "--yes", "--skip-preview"], { BULKHEAD_VIRSH_SESSIONS: "0" });
      log(`${n} qubes: pulumi up with a virsh process per call ${perCall.s.toFixed(1)} s; CPU ${cpuText(perCall.cpu)}`);
    }

    return {
      qubes: n,
      resources: plan.length,
      baseline: { deployS: base.ms / 1000, calls: base.calls },
      floor: { deployS: floor.ms / 1000, calls: floor.calls },
      ...(perCall ? { deployPerCallS: perCall.s } : {}),
      handlersS: direct.createMs / 1000,
      deployS: deploy.s,
      ...(everyStep ? { deployEveryStepS: everyStep.s } : {}),
      noopS: noop.s,
      change: { seconds: change.s, touched, engineChanges },
      offline: { checkS, previewS: preview.s },
      rss: deploy.rss,
      cpu: { deploy: deploy.cpu, noop: noop.cpu },
      disk,
    };
  } finally {
    await teardown(b);
  }
}

/** The ceiling of one peer phase (deploy, no-op, one change, destroy), and of a destroy that only cleans up. */
const PEER_PHASE_S = 180;
const PEER_CLEANUP_S = 90;

/** A peer phase in which no resource finished or was refreshed for this long is hung (a 256 MiB upload takes seconds). */
const PEER_IDLE_S = 60;

/** OpenTofu's default -parallelism. */
const TOFU_DEFAULT_PARALLELISM = 10;

/** Builds (once, cached) the peer and returns its cache directory (scripts/peer.sh). */
async function peerDir(): Promise<string> {
  return (await capture("bash", [join(REPO, "scripts", "peer.sh")], 30 * 60_000)).trim();
}

/**
 * The peer on the same layout (its own prefix and pool): per mode, deploy,
 * no-op, one change, destroy, each bounded; a failure or hang ends the mode
 * (its destroy is still attempted) and is the result. Everything left under
 * the peer's prefix is removed afterwards, by name.
 */
export async function benchPeer(n: number, cache: string): Promise<PeerResult> {
  const tofu = join(cache, "tofu");
  const modes: PeerMode[] = [];
  let resources = 0;
  for (const parallelism of [TOFU_DEFAULT_PARALLELISM, 1]) {
    const b = setup(n, "peer");
    const layout = benchLayout(n, { prefix: b.prefix, pool: b.pool, poolPath: b.poolPath });
    writeFileSync(b.layoutFile, stringify(layout));
    await cleanup(b);
    const dir = join(b.work, "tf");
    mkdirSync(dir, { recursive: true });
    const write = async () => {
      const config = peerConfig(compileResources(loadLayout(b.layoutFile)));
      resources = resourceCount(config);
      writeFileSync(join(dir, "main.tf.json"), `${JSON.stringify(config, null, 2)}
`);
    };
    const env = { ...process.env, TF_CLI_CONFIG_FILE: join(cache, "tofurc"), TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_INPUT: "0" };
    // Hung: nothing finished for PEER_IDLE_S; and a ceiling per phase
    // (PEER_PHASE_S), so that the whole bench stays under 30 minutes: a phase that takes longer
    // is reported as not finished within it. A destroy after a failure is cleanup (by name too).
    const bounds = { dir, env, idleS: PEER_IDLE_S, maxS: PEER_PHASE_S };
    const phases: Partial<Record<PeerPhase, PeerRun>> = {};
    const run = async (phase: PeerPhase, args: string[], sample = false) => {
      let sampler: ReturnType<typeof sampleTree> | undefined;
      const r = await runTofu(tofu, [...args, "-no-color", `-parallelism=${parallelism}`], { ...bounds, onSpawn: (pid) => sample && (sampler = sampleTree(pid, 100, peerRoleOf)) });
      const rss = sampler?.stop().rss;
      const { output, ...kept } = r;
      // The whole output only in the log of a failure; the report keeps the first error.
      if (r.outcome !== "ok") log(`${n} qubes: peer ${phase} output (last lines):\n${output.trim().split("\n").slice(-15).join("\n")}`);
      phases[phase] = { ...kept, ...(rss ? { rss } : {}) };
      log(`${n} qubes: peer -parallelism=${parallelism} ${phase}: ${r.outcome} in ${r.seconds.toFixed(1)} s, ${r.completed} resources${r.error ? `: ${r.error}` : ""}`);
      return r.outcome === "ok";
    };
    try {
      await write();
      const init = await runTofu(tofu, ["init", "-input=false", "-no-color"], { ...bounds, idleS: 120 });
      if (init.outcome !== "ok") throw new Error(`tofu init failed: ${init.error ?? init.output.slice(-2000)}`);
      if (await run("deploy", ["apply", "-auto-approve", "-input=false"], true)) {
        if (await run("noop", ["apply", "-auto-approve", "-input=false"])) {
          changeOneRule(layout);
          writeFileSync(b.layoutFile, stringify(layout));
          await write();
          await run("change", ["apply", "-auto-approve", "-input=false"]);
        }
      }
    } finally {
      // destroy is measured only after a whole run; after a failure it is cleanup.
      bounds.maxS = phases.change?.outcome === "ok" ? PEER_PHASE_S : PEER_CLEANUP_S;
      await run("destroy", ["destroy", "-auto-approve", "-input=false"]);
      await cleanup(b);
      rmSync(b.work, { recursive: true, force: true });
    }
    const left = await leftovers(b);
    if (left.length > 0) throw new Error(`peer left on the host: ${left.join(", ")}`);
    modes.push({ parallelism, phases });
  }
  return { resources, modes };
}

const mb = (x: number) => `${(x / 1048576).toFixed(0)} MiB`;
const cpuText = (c: PeakRss) => `engine ${c.engine.toFixed(1)} s, provider ${c.provider.toFixed(1)} s, program ${c.program.toFixed(1)} s`;

/** Destroys the stack (timed in the log only: teardown is not a goal). */
async function destroyQuickly(b: Bench): Promise<void> {
  const t0 = performance.now();
  await pulumi(["destroy", "--yes", "--skip-preview", "--stack", b.stack], { stream: false, env: b.env });
  log(`${b.n} qubes: pulumi destroy ${seconds(t0).toFixed(1)} s`);
}

async function teardown(b: Bench): Promise<void> {
  await destroyQuickly(b);
  await pulumi(["stack", "rm", "--yes", "--force", b.stack], { stream: false, env: b.env });
  rmSync(join(REPO, "stacks", `Pulumi.${b.stack}.yaml`), { force: true });
  await cleanup(b);
  rmSync(b.work, { recursive: true, force: true });
  const left = await leftovers(b);
  if (left.length > 0) throw new Error(`left on the host: ${left.join(", ")}`);
}

async function machine(parallel: number): Promise<Machine> {
  const version = await virsh(LAB_URI, ["version"]);
  const pick = (re: RegExp) => re.exec(version)?.[1] ?? "unknown";
  const pulumiVersion = (await capture(join(await engineDir(), "pulumi"), ["version"]).catch(() => "unknown")).trim();
  return {
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    kernel: release(),
    libvirt: pick(/Using library: libvirt (\S+)/),
    qemu: pick(/Running hypervisor: QEMU (\S+)/),
    node: process.version,
    pulumi: pulumiVersion,
    parallel,
    load: loadavg().map((x) => x.toFixed(2)).join(" "),
  };
}

/** The report of a saved run, rendered again (after a change to the report's code), its date and duration kept. */
function render(file: string, out: string): void {
  const saved = JSON.parse(readFileSync(file, "utf8")) as { date: string; durationS: number; machine: Machine; results: SizeResult[] };
  const plotFile = join(REPO, "bench", "plot.svg");
  writeFileSync(plotFile, timePlot(saved.results));
  const notesFile = join(REPO, "bench", "notes.md");
  writeFileSync(out, renderReport({ ...saved, plotPath: relative(join(out, ".."), plotFile), notes: existsSync(notesFile) ? readFileSync(notesFile, "utf8") : "" }));
  log(`rendered ${out} from ${file} (the run of ${saved.date})`);
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv, availableParallelism());
  if (opts.render !== undefined) {
    render(opts.render, opts.out);
    return 0;
  }
  const t0 = performance.now();
  log(`sizes ${opts.sizes.join(", ")}, parallelism ${opts.parallel}`);
  // Offline first, before the lab and the engine load the machine.
  const checks = await runCheckCases(join(REPO, "dist", "cli", "main.js"), log);
  await engineDir();
  const peer = opts.peer ? await peerDir() : undefined;
  if (peer) log(`peer: OpenTofu ${PEER.tofu} and terraform-provider-libvirt ${PEER.provider} from ${peer}`);
  await startLab({ skipPackages: true });
  const m = await machine(opts.parallel);
  const results: SizeResult[] = [];
  for (const n of opts.sizes) {
    let r: SizeResult;
    try {
      r = await benchSize(n, opts.parallel);
    } catch (e) {
      // A shared lab host can refuse one call for reasons of its own (another
      // stack's network taking a bridge name at the same moment): one retry, said aloud.
      log(`${n} qubes failed, retrying once: ${e instanceof Error ? e.message : String(e)}`);
      r = await benchSize(n, opts.parallel);
    }
    // The peer after bulkhead's objects are gone, on the same host in the same run.
    if (peer !== undefined) r.peer = await benchPeer(n, peer);
    results.push(r);
    // Written after every size, so a run stopped during a large size still leaves the smaller ones.
    write(results, results.length < opts.sizes.length);
  }
  return 0;

  function write(done: SizeResult[], partial: boolean): void {
    const plotFile = join(REPO, "bench", "plot.svg");
    writeFileSync(plotFile, timePlot(done));
    const notesFile = join(REPO, "bench", "notes.md");
    const notes = existsSync(notesFile) ? readFileSync(notesFile, "utf8") : "";
    const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const durationS = seconds(t0);
    writeFileSync(opts.out, renderReport({
      date,
      durationS,
      machine: m,
      results: done,
      plotPath: relative(join(opts.out, ".."), plotFile),
      notes,
      checks,
      ...(partial ? { partial: `sizes ${done.map((x) => x.qubes).join(", ")} of ${opts.sizes.join(", ")}` } : {}),
    }));
    mkdirSync(join(REPO, ".bulkhead"), { recursive: true });
    writeFileSync(join(REPO, ".bulkhead", "bench.json"), `${JSON.stringify({ date, durationS, machine: m, results: done, checks }, null, 2)}\n`);
    log(`wrote ${opts.out} (${done.map((x) => x.qubes).join(", ")} qubes) after ${seconds(t0).toFixed(0)} s`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
