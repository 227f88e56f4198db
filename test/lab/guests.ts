// Helpers for the lab smoke tests: boot the lab images straight under QEMU (TCG, no libvirt),
// with NoCloud seeds and NICs on bridges inside a private network namespace.
// Every external command is run with execFile/spawn and an argument array.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createConnection } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeIso9660 } from "../../provider/iso9660.js";

const run = promisify(execFile);

export const imagesDir = process.env.BULKHEAD_LAB_IMAGES ?? "/var/lib/bulkhead-lab/images";
export const imageFiles = ["vmlinuz", "initrd.img", "root.img"] as const;

export function imagesPresent(): boolean {
  return imageFiles.every((f) => existsSync(join(imagesDir, f)));
}

export function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .some((dir) => dir !== "" && existsSync(join(dir, cmd)));
}

export async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}

/** `bulkhead.env` text from ordered key/value pairs (values are plain, no quoting). */
export function envFile(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${k}=${v}\n`).join("");
}

export function seedIso(qube: string, env: string, probes?: string, extra: Record<string, string> = {}): Buffer {
  const files = [
    { name: "meta-data", data: Buffer.from(`instance-id: ${qube}\nlocal-hostname: ${qube}\n`) },
    { name: "user-data", data: Buffer.from("#cloud-config\n{}\n") },
    { name: "bulkhead.env", data: Buffer.from(env) },
  ];
  if (probes !== undefined) files.push({ name: "probes.txt", data: Buffer.from(probes) });
  for (const [name, text] of Object.entries(extra)) files.push({ name, data: Buffer.from(text) });
  return makeIso9660("cidata", files);
}

/** A network namespace with bridges; everything the guests send stays inside it. */
export class Netns {
  private constructor(readonly name: string) {}

  static async create(name: string): Promise<Netns> {
    await sh("ip", ["netns", "add", name]);
    const ns = new Netns(name);
    await ns.inside("ip", ["link", "set", "lo", "up"]);
    return ns;
  }

  /** Runs a program (argument array, no shell) inside the namespace. */
  inside(cmd: string, args: string[]): Promise<string> {
    return sh("ip", ["netns", "exec", this.name, cmd, ...args]);
  }

  async bridge(name: string, cidr?: string): Promise<void> {
    await this.inside("ip", ["link", "add", name, "type", "bridge"]);
    if (cidr !== undefined) await this.inside("ip", ["addr", "add", cidr, "dev", name]);
    await this.inside("ip", ["link", "set", name, "up"]);
  }

  async tap(name: string, bridge: string): Promise<void> {
    await this.inside("ip", ["tuntap", "add", "dev", name, "mode", "tap"]);
    await this.inside("ip", ["link", "set", name, "master", bridge, "up"]);
  }

  spawn(cmd: string, args: string[]): ChildProcess {
    return spawn("ip", ["netns", "exec", this.name, cmd, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  async destroy(): Promise<void> {
    await sh("ip", ["netns", "del", this.name]);
  }
}

export interface Nic {
  tap: string;
  mac: string;
}

export interface GuestOptions {
  name: string;
  env: string;
  probes?: string;
  /** Further seed files (a provider's provider.nft). */
  files?: Record<string, string>;
  nics: Nic[];
  /** An existing qcow2 private volume to reuse (persistence); a new blank one otherwise. */
  privateDisk?: string;
  memoryMiB?: number;
  /**
   * A unix socket for the guest agent's virtio-serial port org.qemu.guest_agent.0 (what
   * libvirt's channel gives a domain whose template says guest_agent: true).
   */
  agentSocket?: string;
}

/** One QEMU guest; its serial console (ttyS0 on stdio) is collected in `serial`. */
export class Guest {
  serial = "";
  readonly startedAt = Date.now();
  private waiters: (() => void)[] = [];
  private exited = false;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly privateDisk: string,
  ) {
    const collect = (chunk: Buffer): void => {
      this.serial += chunk.toString("latin1");
      for (const w of this.waiters) w();
    };
    proc.stdout?.on("data", collect);
    proc.stderr?.on("data", collect);
    proc.on("exit", () => {
      this.exited = true;
      for (const w of this.waiters) w();
    });
  }

  static async boot(dir: string, opts: GuestOptions, ns?: Netns): Promise<Guest> {
    const seed = join(dir, `${opts.name}-seed.iso`);
    await writeFile(seed, seedIso(opts.name, opts.env, opts.probes, opts.files));
    const priv = opts.privateDisk ?? join(dir, `${opts.name}-private.qcow2`);
    if (opts.privateDisk === undefined) {
      await sh("qemu-img", ["create", "-q", "-f", "qcow2", priv, "64M"]);
    }
    const args = [
      "-accel", "tcg",
      "-m", String(opts.memoryMiB ?? 160),
      "-nographic",
      "-no-reboot",
      "-kernel", join(imagesDir, "vmlinuz"),
      "-initrd", join(imagesDir, "initrd.img"),
      "-append", "console=ttyS0 quiet panic=-1",
      // vda: the template root, copy-on-write and discarded (like libvirt's <transient/>)
      "-drive", `file=${join(imagesDir, "root.img")},format=raw,if=virtio,snapshot=on`,
      "-drive", `file=${priv},format=qcow2,if=virtio`,
      "-drive", `file=${seed},format=raw,if=virtio,readonly=on`,
      "-nic", "none",
    ];
    if (opts.agentSocket !== undefined) {
      args.push(
        "-device", "virtio-serial-pci",
        "-chardev", `socket,id=qga0,path=${opts.agentSocket},server=on,wait=off`,
        "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
      );
    }
    opts.nics.forEach((nic, i) => {
      args.push(
        "-netdev", `tap,id=n${i},ifname=${nic.tap},script=no,downscript=no`,
        "-device", `virtio-net-pci,netdev=n${i},mac=${nic.mac}`,
      );
    });
    const proc = ns
      ? ns.spawn("qemu-system-x86_64", args)
      : spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    return new Guest(opts.name, proc, priv);
  }

  /** Resolves with the serial text once `re` matches it; rejects after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this.serial.match(re);
        if (m) {
          finish();
          resolve(m);
          return true;
        }
        if (this.exited) {
          finish();
          reject(new Error(`${this.name}: QEMU exited before ${re}; console:\n${this.serial}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${re} within ${ms} ms; console:\n${this.serial}`));
      }, ms);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const waiter = (): void => {
        check();
      };
      this.waiters.push(waiter);
      check();
    });
  }

  /** Lines of the console that start with `prefix`, without the prefix, in order. */
  lines(prefix: string): string[] {
    return this.serial
      // a bare \r (firmware output before the kernel) also ends a line
      .split(/\r\n|\r|\n/)
      .map((l) => l.replace(/^.*?(?=bulkhead)/, ""))
      .filter((l) => l.startsWith(prefix))
      .map((l) => l.slice(prefix.length).trim());
  }

  /** Guest uptime (s) when it printed "bulkhead: ready" (from its "bulkhead: uptime" line). */
  readyUptime(): number {
    const [u] = this.lines("bulkhead: uptime ");
    return u === undefined ? Number.NaN : Number(u);
  }

  /** Guest memory in use at "ready", as the guest reports it ("used X KiB of Y KiB"). */
  guestMemory(): string {
    const [m] = this.lines("bulkhead: memory ");
    return m ?? "unknown";
  }

  /** Probe results as a sorted "id result" list. */
  probeResults(): string[] {
    return this.lines("bulkhead-probe ").sort();
  }

  /** Resident memory of the QEMU process, MiB. */
  rssMiB(): number {
    const pid = this.proc.pid;
    if (pid === undefined) return 0;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = status.match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  }

  async stop(): Promise<void> {
    if (this.exited || this.proc.pid === undefined) return;
    const done = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    this.proc.kill("SIGTERM");
    await done;
  }
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "bulkhead-lab-test-"));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * One qemu-guest-agent command over the guest's agent socket (one JSON object per line, as
 * `virsh qemu-agent-command` sends it); resolves to its `return` value. Rejects after `ms`.
 */
export function agentCommand(socket: string, command: Record<string, unknown>, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer to ${String(command["execute"])} within ${ms} ms`));
    }, ms);
    conn.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on("connect", () => conn.write(`${JSON.stringify(command)}\n`));
    conn.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      conn.destroy();
      const reply = JSON.parse(buf.slice(0, nl)) as { return?: unknown; error?: { desc?: string } };
      if (reply.error !== undefined) reject(new Error(`agent: ${reply.error.desc ?? "error"}`));
      else resolve(reply.return);
    });
  });
}
