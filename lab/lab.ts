// The embedded lab: everything `npm run lab:start` sets up and `lab:stop` takes
// away again. Debian packages, libvirtd + virtlogd in netns bulkhead-lab, the
// guest images, the uplink network (an isolated bridge: no host address, no
// forward) and the internet host behind it. A marker under /run/bulkhead-lab
// records that the lab started the daemons, so stopLab never stops a libvirtd
// someone else runs. Programs run with argument arrays; XML comes from the
// project's renderers.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseDomainXml } from "../libvirt/xml/domain";
import { parseNetworkXml, renderNetworkXml } from "../libvirt/xml/network";
import { parsePoolXml } from "../libvirt/xml/pool";
import { serialLogPath } from "../components/naming";
import { bulkheadPoolUuid } from "../provider/kinds/pool";
import { execResult, spawnLines } from "../libvirt/exec";
import { domainXml, listNames } from "../libvirt/host";
import { unlessNotFound, virsh, virshIfExists } from "../libvirt/virsh";
import { LAB_NAMESPACE, LAB_URI, ensureLabHost, stopLabHost } from "./host";
import { INET_NAMESPACE, ensureInternet, namespaces, stopInternet } from "./internet";

export { LAB_NAMESPACE, LAB_URI } from "./host";

/** The NetVM's uplink in the lab: an isolated libvirt network inside the lab namespace. */
export const UPLINK_NETWORK = "bulkhead-lab-uplink";
export const UPLINK_BRIDGE = "bhlab-uplink";
export const IMAGES_DIR = process.env["BULKHEAD_LAB_IMAGES"] ?? "/var/lib/bulkhead-lab/images";
const RUN_DIR = "/run/bulkhead-lab";
const POOLS_PARENT = "/var/lib/libvirt";
const MARKER = join(RUN_DIR, "daemons-started-by-lab");
const REPO = resolve(__dirname, "..", existsSync(resolve(__dirname, "..", "package.json")) ? "" : "..");

/** Debian packages the lab runs on (scripts/setup.sh's list, plus busybox for the internet host). */
export const LAB_PACKAGES = [
  "libvirt-daemon",
  "libvirt-daemon-driver-qemu",
  "libvirt-clients",
  "libvirt-daemon-config-nwfilter",
  "qemu-system-x86",
  "qemu-utils",
  "dnsmasq-base",
  "iptables",
  "ebtables",
  "iproute2",
  "cpio",
  "e2fsprogs",
  "genisoimage",
  "busybox-static",
] as const;

export type Progress = (line: string) => void;

const run = execResult;

/** Runs a long program, handing each line it prints to `progress`. */
function runStreaming(file: string, args: string[], progress: Progress, env?: NodeJS.ProcessEnv): Promise<void> {
  return spawnLines(file, args, progress, { env });
}

async function installed(pkg: string): Promise<boolean> {
  const r = await run("dpkg-query", ["-W", "-f=${Status}", pkg]);
  return r.ok && r.stdout.includes("install ok installed");
}

/** Installs whichever of LAB_PACKAGES are missing; returns their names. */
export async function ensurePackages(progress: Progress = () => undefined): Promise<string[]> {
  const missing: string[] = [];
  for (const p of LAB_PACKAGES) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return missing;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  progress(`installing Debian packages: ${missing.join(" ")}`);
  await runStreaming("apt-get", ["update", "-qq"], progress, env);
  await runStreaming("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], progress, env);
  return missing;
}

/** Where lab/images/stock.sh publishes the stock Debian image (root.qcow2, vmlinuz, initrd.img). */
export const STOCK_IMAGES_DIR = join(IMAGES_DIR, "stock");

/** Whether a layout boots the lab's stock image: only then is it built (it takes minutes). */
export function usesStockImage(templates: readonly { image: string }[]): boolean {
  return templates.some((t) => t.image.startsWith(`${STOCK_IMAGES_DIR}/`));
}

/** Builds the stock Debian image unless its content-keyed build is cached (stock.sh). */
export async function ensureStockImage(progress: Progress = () => undefined): Promise<void> {
  await runStreaming("bash", [join(REPO, "lab", "images", "stock.sh")], progress);
}

/** Builds the guest images unless they are current (build.sh keeps a stamp and a lock). */
export async function ensureImages(progress: Progress = () => undefined): Promise<void> {
  await runStreaming("bash", [join(REPO, "lab", "images", "build.sh")], progress);
}

async function netnsOf(pid: number): Promise<string | undefined> {
  const r = await run("ip", ["netns", "identify", String(pid)]);
  return r.ok ? r.stdout.trim() : undefined;
}

function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !existsSync(`/proc/${pid}`)) return undefined;
  return pid;
}

/** Whether the libvirtd answering at qemu:///system is the lab's (started by it, or living in its namespace). */
export async function labOwnsDaemons(): Promise<boolean> {
  if (existsSync(MARKER)) return true;
  const pid = pidFrom("/var/run/libvirtd.pid");
  return pid !== undefined && (await netnsOf(pid)) === LAB_NAMESPACE;
}

async function answers(): Promise<boolean> {
  return (await run("virsh", ["-c", LAB_URI, "version"], { timeoutMs: 10_000 })).ok;
}

/** Defines and starts the uplink network if needed; returns its bridge. */
export async function ensureUplink(uri: string = LAB_URI): Promise<string> {
  const xml = await virshIfExists(uri, ["net-dumpxml", "--inactive", "--network", UPLINK_NETWORK]);
  if (xml === undefined) {
    // No <ip> and no <forward>: the host has no address on it and routes nothing out.
    await virsh(uri, ["net-define"], { xml: renderNetworkXml({ name: UPLINK_NETWORK, bridge: { name: UPLINK_BRIDGE, stp: false, delay: 0 } }) });
  } else {
    const spec = parseNetworkXml(xml);
    if (spec.ips !== undefined || spec.forward !== undefined) {
      throw new Error(`lab: network ${UPLINK_NETWORK} exists with a host address or forward mode; remove it (npm run lab:stop) and start again`);
    }
  }
  const info = await virsh(uri, ["net-info", "--network", UPLINK_NETWORK]);
  if (!/^Active:\s+yes/m.test(info)) await virsh(uri, ["net-start", "--network", UPLINK_NETWORK]);
  const bridge = /^Bridge:\s+(\S+)/m.exec(await virsh(uri, ["net-info", "--network", UPLINK_NETWORK]))?.[1];
  if (bridge === undefined) throw new Error(`lab: network ${UPLINK_NETWORK} has no bridge`);
  return bridge;
}

export interface LabOptions {
  progress?: Progress;
  /** Skip the Debian package check (tests: setup already ran). */
  skipPackages?: boolean;
  /** Also build the stock Debian image (a layout that boots it, see usesStockImage). */
  stock?: boolean;
}

export interface StepTiming {
  step: string;
  seconds: number;
}

/**
 * Brings the lab up, or repairs what is missing of it; every step is
 * idempotent, so a failed start is finished by the next one.
 */
export async function startLab(opts: LabOptions = {}): Promise<{ uri: string; timings: StepTiming[] }> {
  const progress = opts.progress ?? (() => undefined);
  const timings: StepTiming[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const out = await fn();
    timings.push({ step: name, seconds: (Date.now() - t0) / 1000 });
    return out;
  };
  if (!opts.skipPackages) await step("packages", () => ensurePackages(progress));
  await step("daemons", async () => {
    const before = await answers();
    await ensureLabHost({ timeoutMs: 60_000 });
    if (!before) {
      await mkdir(RUN_DIR, { recursive: true });
      await writeFile(MARKER, `${new Date().toISOString()}\n`);
    }
  });
  await step("images", () => ensureImages(progress));
  if (opts.stock === true) await step("stock image", () => ensureStockImage(progress));
  const bridge = await step("uplink", () => ensureUplink(LAB_URI));
  await step("internet", () => ensureInternet(bridge));
  return { uri: LAB_URI, timings };
}

async function names(uri: string, args: string[]): Promise<string[]> {
  return (await virsh(uri, args)).split("\n").map((s) => s.trim()).filter((s) => s !== "");
}

async function quietly(p: Promise<unknown>): Promise<void> {
  await p.catch(() => undefined);
}

/** A pool bulkhead made: a layout's pool or a test's, by name or by its directory. */
export function isBulkheadPool(name: string, path: string): boolean {
  return /^(bulkhead|bhtest|bhe2e-)/.test(name) || /^\/var\/lib\/libvirt\/bulkhead/.test(path);
}

export interface RemoveOptions {
  /** Only objects whose libvirt name passes (tests confine the sweep to their own prefix). */
  scope?: (name: string) => boolean;
}

/**
 * Removes every libvirt object on `uri` that bulkhead can prove it made, and
 * nothing else: domains carrying bulkhead's metadata (its owner element, or
 * an older bulkhead's qube element); networks carrying bulkhead's owner
 * metadata, the lab's own networks, and (from an older bulkhead, without
 * metadata) client networks those domains were attached to; the filters
 * those domains referenced; pools under bulkhead's UUID with all their
 * volumes, and in other bulkhead-named pools only the volumes those domains
 * used (the pool too once empty). A `-clients` network, `-fw` filter or
 * volume no bulkhead domain used and nothing marks as bulkhead's stays.
 */
export async function removeBulkheadObjects(uri: string = LAB_URI, opts: RemoveOptions = {}): Promise<string[]> {
  const inScope = opts.scope ?? (() => true);
  const removed: string[] = [];
  const usedNetworks = new Set<string>();
  const usedFilters = new Set<string>();
  const usedFiles = new Set<string>();
  for (const d of (await listNames(uri, "domain")).filter(inScope)) {
    const xml = await unlessNotFound(domainXml(uri, d));
    if (xml === undefined) continue;
    const dom = parseDomainXml(xml);
    if (dom.metadata === undefined && dom.owner?.project !== "bulkhead") continue;
    for (const i of dom.devices.interfaces ?? []) {
      if (i.source.network !== undefined) usedNetworks.add(i.source.network);
      if (i.filterref !== undefined) usedFilters.add(i.filterref.filter);
    }
    for (const disk of dom.devices.disks ?? []) usedFiles.add(disk.source.file);
    await quietly(virsh(uri, ["destroy", "--domain", d]));
    await virsh(uri, ["undefine", "--managed-save", "--snapshots-metadata", "--domain", d]);
    for (const log of [serialLogPath(d), `/var/log/libvirt/qemu/${d}.log`]) await rm(log, { force: true });
    removed.push(`domain ${d}`);
  }
  for (const n of (await listNames(uri, "network")).filter(inScope)) {
    const net = parseNetworkXml(await virsh(uri, ["net-dumpxml", "--inactive", "--network", n]));
    const ours = net.owner?.project === "bulkhead" || n.startsWith("bulkhead-lab-") || (net.owner === undefined && n.endsWith("-clients") && usedNetworks.has(n));
    if (!ours) continue;
    await quietly(virsh(uri, ["net-destroy", "--network", n]));
    await virsh(uri, ["net-undefine", "--network", n]);
    removed.push(`network ${n}`);
  }
  const filters = (await names(uri, ["nwfilter-list"])).slice(2).map((l) => l.split(/\s+/)[1] ?? "");
  for (const f of filters.filter((f) => usedFilters.has(f) && f.endsWith("-fw") && inScope(f))) {
    await virsh(uri, ["nwfilter-undefine", "--nwfilter", f]);
    removed.push(`nwfilter ${f}`);
  }
  for (const p of (await listNames(uri, "pool")).filter(inScope)) {
    const pool = parsePoolXml(await virsh(uri, ["pool-dumpxml", "--inactive", "--pool", p]));
    const bulkheads = pool.uuid === bulkheadPoolUuid(p, pool.target.path);
    if (!bulkheads && !isBulkheadPool(p, pool.target.path)) continue;
    if (!/^State:\s+running/m.test(await virsh(uri, ["pool-info", "--pool", p]))) {
      if (!bulkheads) continue;
      await virsh(uri, ["pool-start", "--pool", p]);
    }
    const dir = pool.target.path.replace(/\/+$/, "");
    const vols = (await names(uri, ["vol-list", "--pool", p])).slice(2).map((l) => l.split(/\s+/)[0] ?? "");
    let left = 0;
    for (const v of vols) {
      if (!bulkheads && !usedFiles.has(`${dir}/${v}`)) {
        left++;
        continue;
      }
      await virsh(uri, ["vol-delete", "--pool", p, "--vol", v]);
      removed.push(`volume ${p}/${v}`);
    }
    if (left > 0) continue;
    await virsh(uri, ["pool-destroy", "--pool", p]);
    // pool-delete removes the (now empty) directory bulkhead had libvirt build.
    await quietly(virsh(uri, ["pool-delete", "--pool", p]));
    await virsh(uri, ["pool-undefine", "--pool", p]);
    removed.push(`pool ${p}`);
  }
  return removed;
}

/**
 * Takes the lab away: bulkhead's objects, the internet host, and (when the lab
 * started them or they run in its namespace) libvirtd, virtlogd and the lab
 * namespace. A libvirtd the lab did not start is left running with its objects.
 */
export async function stopLab(opts: { progress?: Progress } = {}): Promise<{ removed: string[] }> {
  const progress = opts.progress ?? (() => undefined);
  const ours = await labOwnsDaemons();
  let removed: string[] = [];
  if (ours && (await answers())) {
    removed = await removeBulkheadObjects(LAB_URI);
    for (const r of removed) progress(`removed ${r}`);
  }
  await stopInternet();
  // Pool directories a destroyed stack left (libvirt undefines a pool, keeps its dir); only empty ones.
  if (existsSync(POOLS_PARENT)) {
    for (const d of (await readdir(POOLS_PARENT)).filter((n) => isBulkheadPool(n, ""))) {
      await rmdir(join(POOLS_PARENT, d)).then(() => progress(`removed empty ${join(POOLS_PARENT, d)}`), () => undefined);
    }
  }
  if (ours) {
    await stopLabHost();
    progress("stopped libvirtd and virtlogd");
  }
  // The lab namespace may outlive daemons that died on their own.
  if (ours && (await namespaces()).includes(LAB_NAMESPACE)) await run("ip", ["netns", "delete", LAB_NAMESPACE]);
  if (existsSync(RUN_DIR)) {
    for (const f of await readdir(RUN_DIR)) await rm(join(RUN_DIR, f), { recursive: true, force: true });
    await rm(RUN_DIR, { recursive: true, force: true });
  }
  return { removed };
}

/** What is left of the lab (empty when the machine is as the lab found it). */
export async function labLeftovers(): Promise<string[]> {
  const left: string[] = [];
  const ns = await namespaces();
  for (const n of [LAB_NAMESPACE, INET_NAMESPACE]) if (ns.includes(n)) left.push(`netns ${n}`);
  for (const [daemon, file] of [["libvirtd", "/var/run/libvirtd.pid"], ["virtlogd", "/var/run/virtlogd.pid"]] as const) {
    if (pidFrom(file) !== undefined) left.push(`daemon ${daemon}`);
  }
  if (existsSync(RUN_DIR)) left.push(`dir ${RUN_DIR}`);
  return left;
}
