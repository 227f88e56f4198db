// The embedded lab host: a disposable libvirtd run inside its own network
// namespace (README, "The embedded lab host"), so every bridge and tap it makes stays
// there. Only programs with argument arrays are run; nothing goes through a shell.
import { existsSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, stat } from "node:fs/promises";
import { execResult, type ExecResult } from "../libvirt/exec";

export const LAB_NAMESPACE = "bulkhead-lab";
export const LAB_URI = "qemu:///system";
const LIBVIRT_SOCKET = "/var/run/libvirt/libvirt-sock";
/** Directories libvirtd, virtlogd and QEMU write to; the serial logs of qubes live in the first. */
export const LIBVIRT_DIRS = [
  "/var/log/libvirt/qemu",
  "/var/run/libvirt",
  "/var/lib/libvirt/qemu",
  "/var/lib/libvirt/images",
  "/var/cache/libvirt/qemu",
] as const;
/** Where the lab's libvirtd writes its pid (the data e2e test kills it there). */
export const LIBVIRTD_PID_FILE = "/var/run/libvirtd.pid";
const PID_FILES = { libvirtd: LIBVIRTD_PID_FILE, virtlogd: "/var/run/virtlogd.pid" };

/** Runs a program; never throws, so "ensure" steps can check their postcondition instead. */
function run(file: string, args: string[], timeoutMs = 30_000): Promise<ExecResult> {
  return execResult(file, args, { timeoutMs });
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args);
  if (!r.ok) throw new Error(`lab host: ${file} ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(uri: string): Promise<boolean> {
  return (await run("virsh", ["-c", uri, "version"], 10_000)).ok;
}

async function ensureGroup(name: string): Promise<void> {
  if ((await run("getent", ["group", name])).ok) return;
  // Another process may race us to it; the postcondition is what matters.
  await run("groupadd", ["-r", name]);
  if (!(await run("getent", ["group", name])).ok) throw new Error(`lab host: cannot create group ${name}`);
}

async function ensureQemuUser(): Promise<void> {
  await ensureGroup("kvm");
  await ensureGroup("libvirt-qemu");
  if ((await run("id", ["libvirt-qemu"])).ok) return;
  await run("useradd", ["-r", "-g", "libvirt-qemu", "-G", "kvm", "-d", "/var/lib/libvirt", "-s", "/usr/sbin/nologin", "libvirt-qemu"]);
  if (!(await run("id", ["libvirt-qemu"])).ok) throw new Error("lab host: cannot create user libvirt-qemu");
}

/**
 * Gives group kvm access to /dev/kvm, as Debian's udev rule would. Without it
 * libvirt finds its cached QEMU capabilities (probed with KVM) "outdated" on
 * every lookup and re-probes QEMU, which makes each define take half a minute.
 */
async function ensureKvmGroupAccess(): Promise<void> {
  if (!existsSync("/dev/kvm")) return;
  const gid = Number.parseInt((await must("getent", ["group", "kvm"])).split(":")[2] ?? "", 10);
  const st = await stat("/dev/kvm");
  if (st.gid !== gid) await chown("/dev/kvm", st.uid, gid);
  if ((st.mode & 0o060) !== 0o060) await chmod("/dev/kvm", (st.mode & 0o777) | 0o060);
}

async function namespaceExists(): Promise<boolean> {
  const out = await must("ip", ["netns", "list"]);
  return out.split("\n").some((line) => line.split(" ")[0] === LAB_NAMESPACE);
}

async function ensureNamespace(): Promise<void> {
  if (!(await namespaceExists())) {
    await run("ip", ["netns", "add", LAB_NAMESPACE]);
    if (!(await namespaceExists())) throw new Error(`lab host: cannot create network namespace ${LAB_NAMESPACE}`);
  }
  await must("ip", ["netns", "exec", LAB_NAMESPACE, "ip", "link", "set", "lo", "up"]);
}

function pidOf(daemon: keyof typeof PID_FILES): number | undefined {
  const file = PID_FILES[daemon];
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  // A killed daemon nobody has reaped yet still answers kill(0): it is gone all the same.
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? undefined : pid;
  } catch {
    return undefined;
  }
}

async function startDaemon(daemon: keyof typeof PID_FILES): Promise<void> {
  if (pidOf(daemon) !== undefined) return;
  // A concurrent starter makes the second `-d` fail on the pid file lock; that is fine.
  await run("ip", ["netns", "exec", LAB_NAMESPACE, daemon, "-d"]);
}

/**
 * Makes sure a libvirtd answers at qemu:///system, starting one (with virtlogd)
 * inside network namespace `bulkhead-lab` if none does. Idempotent, and safe
 * when several processes call it at once.
 */
export async function ensureLabHost(opts: { timeoutMs?: number } = {}): Promise<{ uri: string }> {
  await ensureQemuUser();
  await ensureKvmGroupAccess();
  // Every directory libvirtd and the domains need (the package's install scripts would make
  // them; a fresh or wiped machine has none): made each time, since a running daemon does not
  // recreate a log directory someone removed, and a domain then fails to start.
  for (const dir of LIBVIRT_DIRS) await mkdir(dir, { recursive: true });
  if (await answers(LAB_URI)) {
    await ensureFilterGuard();
    return { uri: LAB_URI };
  }
  await ensureNamespace();
  await ensureFilterGuard();
  await startDaemon("virtlogd");
  await startDaemon("libvirtd");
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (existsSync(LIBVIRT_SOCKET) && (await answers(LAB_URI))) return { uri: LAB_URI };
    await sleep(250);
  }
  throw new Error(`lab host: libvirtd did not answer at ${LAB_URI} within ${opts.timeoutMs ?? 30_000} ms`);
}

/**
 * The nwfilter guard, in both iptables families of the lab's namespace. Each time
 * libvirt instantiates a port's filter (every start of a domain with a filterref), its
 * nwfilter driver deletes and re-inserts the FORWARD jumps to `libvirt-in`,
 * `libvirt-out` and `libvirt-in-post` and the INPUT jump to `libvirt-host-in`, one
 * iptables call at a time. Meanwhile the per-port chains of every other qube are
 * unlinked: FORWARD's policy accepts what they would drop, and while `libvirt-in` is
 * gone and `libvirt-in-post` (an accept per filtered port) is not yet, that accepts it
 * too (test/lab/filter-guard.test.ts counts the packets). The guard is a chain of
 * bulkhead's own that jumps to the per-port dispatch chains; a jump to it sits in
 * FORWARD and INPUT and first in `libvirt-in-post`, places libvirt never deletes, so a
 * port's filter decides before any accept whatever state the relinking is in (a packet
 * the filter accepts is judged twice, with the same verdict).
 */
export const FILTER_GUARD = {
  FORWARD: { chain: "bulkhead-guard-fwd", targets: ["libvirt-in", "libvirt-out"], first: "libvirt-in-post" },
  INPUT: { chain: "bulkhead-guard-in", targets: ["libvirt-host-in"], first: undefined },
} as const;

/** Installs the nwfilter guard in the lab's namespace (idempotent; see FILTER_GUARD). */
export async function ensureFilterGuard(): Promise<void> {
  for (const tool of ["iptables", "ip6tables"]) {
    const ipt = (args: string[]) => run("ip", ["netns", "exec", LAB_NAMESPACE, tool, "-w", ...args]);
    for (const [hook, { chain, targets, first }] of Object.entries(FILTER_GUARD)) {
      // libvirt creates its chains with errors ignored, so making them first is safe.
      for (const c of [...targets, ...(first === undefined ? [] : [first]), chain]) await ipt(["-N", c]);
      for (const target of targets) {
        if (!(await ipt(["-C", chain, "-j", target])).ok) await ipt(["-A", chain, "-j", target]);
      }
      if (!(await ipt(["-C", hook, "-j", chain])).ok) await ipt(["-I", hook, "1", "-j", chain]);
      if (!(await ipt(["-C", hook, "-j", chain])).ok) throw new Error(`lab host: cannot install the nwfilter guard in ${tool}'s ${hook} chain`);
      if (first !== undefined) {
        if (!(await ipt(["-C", first, "-j", chain])).ok) await ipt(["-I", first, "1", "-j", chain]);
        const rule = (await ipt(["-S", first])).stdout.split("\n").find((l) => l.startsWith("-A "));
        if (rule !== `-A ${first} -j ${chain}`) throw new Error(`lab host: the nwfilter guard is not first in ${tool}'s ${first} chain (found ${rule ?? "nothing"})`);
      }
    }
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(100);
  }
  return false;
}

async function listNames(args: string[]): Promise<string[]> {
  const r = await run("virsh", ["-c", LAB_URI, ...args], 15_000);
  return r.ok ? r.stdout.split("\n").map((s) => s.trim()).filter((s) => s !== "") : [];
}

/**
 * Stops the lab: powers off running guests and networks (so no qemu or
 * dnsmasq outlives the daemon), stops libvirtd and virtlogd, deletes the namespace.
 */
export async function stopLabHost(): Promise<void> {
  if (await answers(LAB_URI)) {
    for (const dom of await listNames(["list", "--name", "--state-running"])) {
      await run("virsh", ["-c", LAB_URI, "destroy", "--domain", dom]);
    }
    for (const net of await listNames(["net-list", "--name"])) {
      await run("virsh", ["-c", LAB_URI, "net-destroy", "--network", net]);
    }
  }
  for (const daemon of ["libvirtd", "virtlogd"] as const) {
    const pid = pidOf(daemon);
    if (pid === undefined) continue;
    process.kill(pid, "SIGTERM");
    if (!(await waitGone(pid, 15_000))) {
      process.kill(pid, "SIGKILL");
      await waitGone(pid, 5_000);
    }
  }
  if (await namespaceExists()) await must("ip", ["netns", "delete", LAB_NAMESPACE]);
}
