// Peak resident memory of a process tree, from /proc: each process's VmHWM
// (the kernel's own high-water mark, so sampling only has to see a process
// once before it exits, not at its peak); and CPU seconds per process as last
// seen (up to one sampling interval short), to tell where the time goes.
import { readdirSync, readFileSync } from "node:fs";

export type ProcRole = "engine" | "provider" | "program" | "other";

export interface PeakRss {
  /** Highest VmHWM seen per role, in bytes (0 when no such process was seen). */
  engine: number;
  provider: number;
  program: number;
}

/** Which part of a `pulumi up` a process is, from its command line. */
export function roleOf(pid: number, rootPid: number, cmdline: string): ProcRole {
  if (pid === rootPid) return "engine";
  if (cmdline.includes("dist/provider/main.js")) return "provider";
  // Our language host runs the program (index.ts) in a node process.
  if (cmdline.startsWith("node") || cmdline.includes("/node")) return "program";
  return "other";
}

/** VmHWM in bytes from a /proc/<pid>/status text; 0 if absent (kernel threads, zombies). */
export function parseHwm(status: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const stat = read(`/proc/${d}/stat`);
    // Field 4 is the ppid; the command name (field 2) may hold spaces, so split after its ')'.
    const ppid = stat === undefined ? NaN : Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isNaN(ppid)) parent.set(Number(d), ppid);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, pp] of parent) if (pp === out[i]) out.push(pid);
  return out;
}

/** CPU seconds (user + system) from a /proc/<pid>/stat text, at `hz` clock ticks a second. */
export function parseCpuSeconds(stat: string, hz = 100): number {
  // Fields 14 and 15 (utime, stime), counted after the command name's closing ')'.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / hz;
}

/** The peer's roles: `tofu` is the engine, terraform-provider-libvirt the provider (there is no program). */
export function peerRoleOf(pid: number, rootPid: number, cmdline: string): ProcRole {
  if (pid === rootPid) return "engine";
  return cmdline.includes("terraform-provider-libvirt") ? "provider" : "other";
}

/** Samples the tree under `rootPid` every `everyMs` until stopped: peak RSS and CPU seconds per role. */
export function sampleTree(rootPid: number, everyMs = 100, classify: typeof roleOf = roleOf): { stop(): { rss: PeakRss; cpu: PeakRss } } {
  const peak: PeakRss = { engine: 0, provider: 0, program: 0 };
  const lastCpu = new Map<number, { role: ProcRole; s: number }>();
  const tick = () => {
    for (const pid of descendants(rootPid)) {
      const status = read(`/proc/${pid}/status`);
      const stat = read(`/proc/${pid}/stat`);
      const cmdline = read(`/proc/${pid}/cmdline`)?.split("\0").join(" ") ?? "";
      if (status === undefined || stat === undefined) continue;
      const role = classify(pid, rootPid, cmdline);
      if (role !== "other") peak[role] = Math.max(peak[role], parseHwm(status));
      lastCpu.set(pid, { role, s: parseCpuSeconds(stat) });
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      const cpu: PeakRss = { engine: 0, provider: 0, program: 0 };
      for (const { role, s } of lastCpu.values()) if (role !== "other") cpu[role] += s;
      return { rss: peak, cpu };
    },
  };
}
