// The lab's stand-in for the outside world: a network namespace of its own
// (not an emulated guest: a whole TCG VM would cost a core's worth of CPU for a
// few listening sockets), joined to the lab's uplink bridge by a veth pair.
// It hands the NetVM an address by DHCP, answers DNS for `*.internet.lab`, and
// serves tcp 80 (http) plus tcp echo on 443 and 8080, so reachability proofs
// have accepted ports and refused ones. Nothing routes out of it: it has one
// interface and no default route. Every program runs with an argument array.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execResult, type ExecResult } from "../libvirt/exec";
import { LAB_NAMESPACE } from "./host";

export const INET_NAMESPACE = "bulkhead-lab-inet";
/** Address of the internet host on the uplink network. */
export const INET_ADDRESS = "10.200.0.1";
export const INET_PREFIX = 24;
export const INET_DHCP_RANGE = ["10.200.0.100", "10.200.0.199"] as const;
/** Names the internet host's DNS answers (and their subdomains), all with INET_ADDRESS. */
export const INET_NAMES = ["internet.lab", "example.lab"] as const;
/** TCP ports that accept: http on 80, echo on the others. Anything else is refused. */
export const INET_TCP_PORTS = { http: 80, echo: [443, 8080] } as const;
/** The veth end inside the lab's namespace, attached to the uplink bridge. */
export const INET_VETH = "bhlab-inet";

const STATE_DIR = "/run/bulkhead-lab/inet";

function run(file: string, args: string[], timeoutMs = 30_000): Promise<ExecResult> {
  return execResult(file, args, { timeoutMs });
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args);
  if (!r.ok) throw new Error(`lab internet: ${file} ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function namespaces(): Promise<string[]> {
  const out = await must("ip", ["netns", "list"]);
  return out.split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n !== "");
}

const inInet = (args: string[]) => ["netns", "exec", INET_NAMESPACE, ...args];

async function linkExists(ns: string, dev: string): Promise<boolean> {
  return (await run("ip", ["-n", ns, "link", "show", "dev", dev])).ok;
}

/** A service: how to start it, and what its process is called (to tell a live pid from a reused one). */
interface Service {
  name: string;
  argv: string[];
  comm: string;
}

function services(): Service[] {
  const [lo, hi] = INET_DHCP_RANGE;
  const dnsmasq = [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--bind-interfaces",
    "--interface=eth0",
    `--listen-address=${INET_ADDRESS}`,
    `--dhcp-range=${lo},${hi},255.255.255.0,1h`,
    `--dhcp-option=option:router,${INET_ADDRESS}`,
    `--dhcp-option=option:dns-server,${INET_ADDRESS}`,
    ...INET_NAMES.map((n) => `--address=/${n}/${INET_ADDRESS}`),
    `--dhcp-leasefile=${join(STATE_DIR, "dnsmasq.leases")}`,
    `--pid-file=${join(STATE_DIR, "dnsmasq.daemon.pid")}`,
    "--user=root",
    "--log-dhcp",
  ];
  const echo = INET_TCP_PORTS.echo.map((port) => ({
    name: `echo-${port}`,
    // -ll: keep listening, one forked cat per connection.
    argv: ["busybox", "nc", "-ll", "-p", String(port), "-e", "/bin/cat"],
    comm: "busybox",
  }));
  return [
    { name: "dnsmasq", argv: dnsmasq, comm: "dnsmasq" },
    { name: "httpd", argv: ["busybox", "httpd", "-f", "-p", String(INET_TCP_PORTS.http), "-h", join(STATE_DIR, "www")], comm: "busybox" },
    ...echo,
  ];
}

function livePid(svc: Service): number | undefined {
  const file = join(STATE_DIR, `${svc.name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === svc.comm ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function startService(svc: Service): Promise<void> {
  if (livePid(svc) !== undefined) return;
  const log = openSync(join(STATE_DIR, `${svc.name}.log`), "a");
  // `ip netns exec` execs the program, so the child's pid is the service's own.
  const child = spawn("ip", inInet(svc.argv), { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  const pid = child.pid;
  child.unref();
  if (pid === undefined) throw new Error(`lab internet: cannot start ${svc.name}`);
  await writeFile(join(STATE_DIR, `${svc.name}.pid`), `${pid}\n`);
}

async function listening(port: number, proto: "tcp" | "udp"): Promise<boolean> {
  const r = await run("ip", inInet(["ss", "-Hln", proto === "tcp" ? "-t" : "-u", `sport = :${port}`]));
  return r.ok && r.stdout.trim() !== "";
}

/**
 * Makes the internet host exist and serve, attached to `bridge` (the uplink
 * network's bridge inside the lab namespace). Idempotent: a rerun repairs
 * whatever is missing (a restarted uplink network detaches the veth).
 */
export async function ensureInternet(bridge: string): Promise<void> {
  await mkdir(join(STATE_DIR, "www"), { recursive: true });
  await writeFile(join(STATE_DIR, "www", "index.html"), "bulkhead lab internet\n");
  if (!(await namespaces()).includes(INET_NAMESPACE)) {
    await run("ip", ["netns", "add", INET_NAMESPACE]);
    if (!(await namespaces()).includes(INET_NAMESPACE)) throw new Error(`lab internet: cannot create network namespace ${INET_NAMESPACE}`);
  }
  await must("ip", ["-n", INET_NAMESPACE, "link", "set", "lo", "up"]);
  const inetEnd = await linkExists(INET_NAMESPACE, "eth0");
  const labEnd = await linkExists(LAB_NAMESPACE, INET_VETH);
  if (!inetEnd || !labEnd) {
    // A half pair (one namespace recreated) cannot be rejoined: make it anew.
    if (labEnd) await must("ip", ["-n", LAB_NAMESPACE, "link", "delete", "dev", INET_VETH]);
    if (inetEnd) await must("ip", ["-n", INET_NAMESPACE, "link", "delete", "dev", "eth0"]);
    await must("ip", ["-n", LAB_NAMESPACE, "link", "add", INET_VETH, "type", "veth", "peer", "name", "eth0", "netns", INET_NAMESPACE]);
  }
  // The lab's end is a bridge port, never an address of the libvirt host.
  await must("ip", ["netns", "exec", LAB_NAMESPACE, "sysctl", "-q", "-w", `net.ipv6.conf.${INET_VETH}.disable_ipv6=1`]);
  await must("ip", ["-n", LAB_NAMESPACE, "link", "set", "dev", INET_VETH, "master", bridge, "up"]);
  await must("ip", ["-n", INET_NAMESPACE, "addr", "replace", `${INET_ADDRESS}/${INET_PREFIX}`, "dev", "eth0"]);
  await must("ip", ["-n", INET_NAMESPACE, "link", "set", "dev", "eth0", "up"]);

  for (const svc of services()) await startService(svc);
  const ports: [number, "tcp" | "udp"][] = [
    [53, "udp"],
    [67, "udp"],
    [INET_TCP_PORTS.http, "tcp"],
    ...INET_TCP_PORTS.echo.map((p): [number, "tcp"] => [p, "tcp"]),
  ];
  const deadline = Date.now() + 10_000;
  for (const [port, proto] of ports) {
    while (!(await listening(port, proto))) {
      if (Date.now() > deadline) {
        throw new Error(`lab internet: nothing listens on ${proto} ${port} in ${INET_NAMESPACE}; see ${STATE_DIR}/*.log`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Stops every process in the internet namespace and deletes it (the veth pair goes with it). */
export async function stopInternet(): Promise<void> {
  if ((await namespaces()).includes(INET_NAMESPACE)) {
    for (let round = 0; round < 20; round++) {
      const pids = (await must("ip", ["netns", "pids", INET_NAMESPACE])).split("\n").map((s) => Number.parseInt(s, 10)).filter((n) => n > 0);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, round < 10 ? "SIGTERM" : "SIGKILL");
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await must("ip", ["netns", "delete", INET_NAMESPACE]);
  }
  if (await namespaces().then((n) => n.includes(LAB_NAMESPACE))) {
    if (await linkExists(LAB_NAMESPACE, INET_VETH)) await run("ip", ["-n", LAB_NAMESPACE, "link", "delete", "dev", INET_VETH]);
  }
  await rm(STATE_DIR, { recursive: true, force: true });
}
