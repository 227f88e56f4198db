// The peer: what a user would pick instead of bulkhead, OpenTofu with
// terraform-provider-libvirt (its 0.8 line, the one @pulumi/libvirt bridged),
// deploying the same generated layout. `peerConfig` turns the layout's
// simulated resources into the closest Terraform configuration, as JSON
// (main.tf.json), by code; `runTofu` runs one tofu command bounded by a
// timeout and a hang detector, so a failure or a hang is a result.
//
// What the peer cannot express, and is left out of its side:
// - nwfilters: the provider has no nwfilter resource, so no qube has a
//   firewall (the rules are carried as a comment in the qube's user-data, so
//   the bench's one-rule change is still a change of the peer's configuration);
// - port isolation of a provider's client network (`<port isolated='yes'/>`):
//   no network or interface attribute for it;
// - transient roots (`<transient shareBacking='yes'/>`): each qube gets a
//   qcow2 overlay of the template's volume instead (`base_volume_id`), the
//   Terraform way, which is a volume per qube more;
// - the seed's extra file (bulkhead.env): a libvirt_cloudinit_disk holds only
//   user-data, meta-data and network-config;
// - the serial log file and the domain's metadata (class, label, layout);
// - a domain that is defined but never started: the provider starts every
//   domain it creates and, with `running = false`, destroys it right after,
//   so each qube boots briefly during the peer's deploy.
// The provider's `xml { xslt }` escape hatch could patch isolation and
// transient disks into the XML it generates, but not define filters; the bench
// does not use it, as a user reaching for XSLT has left the provider's model.
import { spawn } from "node:child_process";
import type { DomainArgs, NetworkArgs, NwFilterArgs, PoolArgs, VolumeArgs } from "../libvirt/types";
import type { SimulatedResource } from "../components/compile";
import { LIBVIRT_TYPE_PREFIX } from "../libvirt/tokens";

/** The pinned peer: OpenTofu and terraform-provider-libvirt, as scripts/peer.sh builds them. */
export const PEER = { tofu: "1.10.6", provider: "0.8.3" };

export const NOT_EXPRESSED = ["nwfilters (qube firewalls)", "port isolation on client networks", "transient roots (a qcow2 overlay per qube instead)"];

const LIBVIRT = LIBVIRT_TYPE_PREFIX;

/** A Terraform resource address part: letters, digits, `_` and `-`, starting with a letter. */
export function tfKey(name: string): string {
  return `r_${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/**
 * A literal string in Terraform JSON: every string there is a template, so a
 * layout value holding `${…}` or `%{…}` would be evaluated by tofu (a
 * `${file("…")}` in a user-data reads a file). Escaped as `$${` and `%%{`.
 */
export function lit(s: string): string {
  return s.replace(/\$\{/g, "$$${").replace(/%\{/g, "%%{");
}

/** `console=ttyS0 panic=-1 quiet` -> the provider's cmdline list of maps (`_` for a bare word). */
export function cmdlineMaps(cmdline: string | undefined): Record<string, string>[] {
  if (cmdline === undefined || cmdline.trim() === "") return [];
  return cmdline.trim().split(/\s+/).map((w) => {
    const i = w.indexOf("=");
    return i < 0 ? { _: lit(w) } : { [w.slice(0, i)]: lit(w.slice(i + 1)) };
  });
}

type Tf = Record<string, Record<string, Record<string, unknown>>>;

/**
 * The layout's libvirt resources as a Terraform JSON configuration for
 * terraform-provider-libvirt 0.8.3: the pool, the template's volume, per qube a
 * qcow2 overlay root, a private volume, a cloud-init disk and a domain, and the
 * client networks. Deterministic (the tests pin it).
 */
export function peerConfig(resources: readonly SimulatedResource[]): Record<string, unknown> {
  const of = <T>(t: string) => resources.filter((r) => r.custom && r.type === `${LIBVIRT}${t}`).map((r) => r.inputs as unknown as T);
  const pools = of<PoolArgs>("Pool");
  const volumes = of<VolumeArgs>("Volume");
  const networks = of<NetworkArgs>("Network");
  const filters = new Map(of<NwFilterArgs>("NwFilter").map((f) => [f.name, f]));
  const domains = of<DomainArgs>("Domain");
  const uris = new Set([...pools, ...volumes, ...networks, ...domains].map((x) => x.uri));
  if (uris.size !== 1) throw new Error(`peer: one libvirt URI expected, found ${[...uris].join(", ") || "none"}`);
  const res: Tf = { libvirt_pool: {}, libvirt_volume: {}, libvirt_cloudinit_disk: {}, libvirt_network: {}, libvirt_domain: {} };

  const poolDir = new Map<string, string>();
  for (const p of pools) {
    poolDir.set(p.name, (p.target?.path ?? "").replace(/\/+$/, ""));
    res.libvirt_pool![tfKey(p.name)] = { name: lit(p.name), type: p.type, target: [{ path: lit(p.target?.path ?? "") }] };
  }
  const poolRef = (pool: string) => (poolDir.has(pool) ? `\${libvirt_pool.${tfKey(pool)}.name}` : lit(pool));
  /** Volume path -> the Terraform reference of its volume (or cloud-init disk). */
  const byPath = new Map<string, { ref: string; seed: boolean; volume: VolumeArgs }>();
  for (const v of volumes) {
    const path = `${poolDir.get(v.pool) ?? ""}/${v.name}`;
    if (v.seed !== undefined) {
      res.libvirt_cloudinit_disk![tfKey(v.name)] = {
        name: lit(v.name),
        pool: poolRef(v.pool),
        user_data: lit(v.seed.userData ?? ""),
        meta_data: lit(v.seed.metaData ?? ""),
        ...(v.seed.networkConfig !== undefined ? { network_config: lit(v.seed.networkConfig) } : {}),
      };
      byPath.set(path, { ref: `\${libvirt_cloudinit_disk.${tfKey(v.name)}.id}`, seed: true, volume: v });
    } else {
      const tf: Record<string, unknown> = { name: lit(v.name), pool: poolRef(v.pool), format: v.format };
      if (v.source !== undefined) tf["source"] = lit("file" in v.source ? v.source.file : v.source.url);
      else tf["size"] = v.capacity;
      res.libvirt_volume![tfKey(v.name)] = tf;
      byPath.set(path, { ref: `\${libvirt_volume.${tfKey(v.name)}.id}`, seed: false, volume: v });
    }
  }
  const ours = new Set(networks.map((n) => n.name));
  for (const n of networks) res.libvirt_network![tfKey(n.name)] = { name: lit(n.name), mode: "none", autostart: n.autostart };

  for (const d of domains) {
    const disks: Record<string, unknown>[] = [];
    let cloudinit: string | undefined;
    let rules: unknown[] = [];
    for (const disk of d.devices.disks ?? []) {
      const file = disk.source?.file;
      const vol = file === undefined ? undefined : byPath.get(file);
      if (vol?.seed) {
        cloudinit = vol.ref;
        continue;
      }
      if (vol === undefined) {
        disks.push({ file: lit(file ?? "") });
        continue;
      }
      if (disk.transient === undefined) {
        disks.push({ volume_id: vol.ref });
        continue;
      }
      // A transient disk on a shared image: the peer's way is an overlay per qube.
      const overlay = `${d.name}-${disk.serial ?? disk.target.dev}-overlay.qcow2`;
      res.libvirt_volume![tfKey(overlay)] = { name: lit(overlay), pool: poolRef(vol.volume.pool), format: "qcow2", base_volume_id: vol.ref };
      disks.push({ volume_id: `\${libvirt_volume.${tfKey(overlay)}.id}` });
    }
    const nics = (d.devices.interfaces ?? []).map((i) => {
      const net = i.source?.network ?? "";
      const f = i.filterref === undefined ? undefined : filters.get(i.filterref.filter);
      if (f !== undefined) rules = [...rules, ...f.rules];
      const target = ours.has(net) ? { network_id: `\${libvirt_network.${tfKey(net)}.id}` } : { network_name: lit(net) };
      return { ...target, ...(i.mac?.address !== undefined ? { mac: lit(i.mac.address) } : {}) };
    });
    const tf: Record<string, unknown> = {
      name: lit(d.name),
      type: d.type,
      memory: d.memory,
      vcpu: d.vcpu,
      running: d.running,
      autostart: d.autostart,
      disk: disks,
      network_interface: nics,
      // The provider always adds a graphics device (SPICE on 127.0.0.1 by default), and it starts
      // every domain it creates (then destroys it again when running = false): the lab's libvirtd
      // has no IPv4 loopback, so a listening socket is the one graphics setting that starts there.
      graphics: [{ type: "vnc", listen_type: "socket", autoport: true }],
    };
    if (d.os.kernel !== undefined) tf["kernel"] = lit(d.os.kernel);
    if (d.os.initrd !== undefined) tf["initrd"] = lit(d.os.initrd);
    const cmdline = cmdlineMaps(d.os.cmdline);
    if (cmdline.length > 0) tf["cmdline"] = cmdline;
    if (cloudinit !== undefined) {
      tf["cloudinit"] = cloudinit;
      // The filter the peer cannot define still belongs to the configuration: as a comment in the user-data.
      if (rules.length > 0) {
        const disk = Object.entries(res.libvirt_cloudinit_disk!).find(([k]) => `\${libvirt_cloudinit_disk.${k}.id}` === cloudinit)?.[1];
        if (disk) disk["user_data"] = `${String(disk["user_data"])}# firewall (not enforced by the peer): ${lit(JSON.stringify(rules))}\n`;
      }
    }
    res.libvirt_domain![tfKey(d.name)] = tf;
  }
  return {
    terraform: { required_providers: { libvirt: { source: "dmacvicar/libvirt", version: PEER.provider } } },
    provider: { libvirt: { uri: [...uris][0] } },
    resource: Object.fromEntries(Object.entries(res).filter(([, v]) => Object.keys(v).length > 0)),
  };
}

/** How many resources the configuration declares. */
export function resourceCount(config: Record<string, unknown>): number {
  const res = (config["resource"] ?? {}) as Tf;
  return Object.values(res).reduce((n, byName) => n + Object.keys(byName).length, 0);
}

export type TofuOutcome = "ok" | "failed" | "hung" | "timeout";

export interface TofuRun {
  outcome: TofuOutcome;
  seconds: number;
  /** Resources tofu reported finished (`… complete after …`). */
  completed: number;
  /** The first error line tofu printed, when it failed. */
  error?: string;
  output: string;
}

/** Resources finished in tofu's output: creation, modification or destruction complete. */
export function completedCount(output: string): number {
  return (output.match(/: (Creation|Modifications|Destruction) complete after/g) ?? []).length;
}

/** The first `Error: …` line of tofu's output (with -no-color), trimmed. */
export function firstError(output: string): string | undefined {
  const lines = output.split("\n");
  const i = lines.findIndex((l) => /^\s*(│\s*)?Error: /.test(l));
  if (i < 0) return undefined;
  const detail = lines.slice(i, i + 4).map((l) => l.replace(/^\s*│\s?/, "").trim()).filter((l) => l !== "");
  return detail.join(" ").slice(0, 300);
}

/** Lines that show tofu getting on: a resource finished, or refreshed. */
const PROGRESS = /: (Creation|Modifications|Destruction) complete after|: Refreshing state\.\.\./g;

/**
 * Runs `tofu args` in `dir`; ends it (SIGINT, then SIGKILL) when no resource
 * has finished or been refreshed for `idleS` (a hang: tofu still prints "Still
 * creating…" every 10 s), or when it has run `maxS`. `onSpawn` gets the pid
 * (to sample memory).
 */
export function runTofu(
  tofu: string,
  args: readonly string[],
  o: { dir: string; env: NodeJS.ProcessEnv; idleS: number; maxS: number; onSpawn?: (pid: number) => void },
): Promise<TofuRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    // Its own process group, so that ending it also ends the provider plugin it started (which
    // would otherwise outlive it, holding the output pipes open).
    const child = spawn(tofu, [...args], { cwd: o.dir, env: o.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    if (child.pid !== undefined) o.onSpawn?.(child.pid);
    let output = "";
    let ended: TofuOutcome | undefined;
    let idle: NodeJS.Timeout;
    const end = (why: TofuOutcome) => {
      if (ended !== undefined) return;
      ended = why;
      signal("SIGINT");
      setTimeout(() => signal("SIGKILL"), 15_000).unref();
    };
    const poke = () => {
      clearTimeout(idle);
      idle = setTimeout(() => end("hung"), o.idleS * 1000);
    };
    poke();
    const max = setTimeout(() => end("timeout"), o.maxS * 1000);
    let progress = 0;
    const take = (d: Buffer) => {
      output += d.toString("utf8");
      const n = (output.match(PROGRESS) ?? []).length;
      if (n > progress) poke();
      progress = n;
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      clearTimeout(idle);
      clearTimeout(max);
      const seconds = (performance.now() - t0) / 1000;
      const outcome: TofuOutcome = ended ?? (code === 0 ? "ok" : "failed");
      const error = outcome === "ok" ? undefined : (firstError(output) ?? (outcome === "failed" ? `exit code ${String(code)}` : undefined));
      resolve({ outcome, seconds, completed: completedCount(output), output, ...(error !== undefined ? { error } : {}) });
    });
  });
}
