import { chmodSync, existsSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { benchLayout } from "../../bench/run";
import { cmdlineMaps, completedCount, firstError, lit, peerConfig, resourceCount, runTofu } from "../../bench/peer";
import { simulateLayout } from "../../components/simulate";
import { loadLayout } from "../../layout/load";

const host = { prefix: "benchpeer10-", pool: "benchpeer10-pool", poolPath: "/var/lib/libvirt/benchpeer10" };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bhtest-peer-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function config(mutate: (l: ReturnType<typeof benchLayout>) => void = () => undefined) {
  const l = benchLayout(10, host);
  mutate(l);
  const file = join(dir, "layout.yaml");
  writeFileSync(file, stringify(l));
  return peerConfig(await simulateLayout(loadLayout(file)));
}

type Res = Record<string, Record<string, Record<string, unknown>>>;

describe("the peer's Terraform configuration", () => {
  it("has per qube an overlay root, a private volume, a cloud-init disk and a domain, plus pool, template and networks", async () => {
    const c = await config();
    const res = c["resource"] as Res;
    expect(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Object.keys(v).length]))).toEqual({
      libvirt_pool: 1,
      libvirt_volume: 21, // template root, 9 private volumes (the DispVM has none), 11 overlays
      libvirt_cloudinit_disk: 11,
      libvirt_network: 3,
      libvirt_domain: 11,
    });
    expect(resourceCount(c)).toBe(47);
    expect(c["provider"]).toEqual({ libvirt: { uri: "qemu:///system" } });
    expect(res.libvirt_network!["r_benchpeer10-sys-firewall-clients"]).toEqual({ name: "benchpeer10-sys-firewall-clients", mode: "none", autostart: true });
    const work = res.libvirt_domain!["r_benchpeer10-work-1"]!;
    expect(work).toMatchObject({
      name: "benchpeer10-work-1",
      type: "qemu",
      memory: 160,
      running: false,
      autostart: false,
      disk: [{ volume_id: "${libvirt_volume.r_benchpeer10-work-1-root-overlay_qcow2.id}" }, { volume_id: "${libvirt_volume.r_benchpeer10-work-1-private_qcow2.id}" }],
      network_interface: [{ network_id: "${libvirt_network.r_benchpeer10-sys-firewall-clients.id}" }],
      kernel: "/var/lib/bulkhead-lab/images/vmlinuz",
      cmdline: [{ console: "ttyS0" }, { panic: "-1" }],
      cloudinit: "${libvirt_cloudinit_disk.r_benchpeer10-work-1-seed_iso.id}",
      graphics: [{ type: "vnc", listen_type: "socket", autoport: true }],
    });
    expect(res.libvirt_volume!["r_benchpeer10-work-1-root-overlay_qcow2"]).toEqual({
      name: "benchpeer10-work-1-root-overlay.qcow2",
      pool: "${libvirt_pool.r_benchpeer10-pool.name}",
      format: "qcow2",
      base_volume_id: "${libvirt_volume.r_benchpeer10-lab-root_qcow2.id}",
    });
    // No nwfilter, no port isolation, no transient disk anywhere in it.
    expect(JSON.stringify(c)).not.toMatch(/filterref|isolated|transient|nwfilter/);
  });

  it("carries a qube's firewall rules in its user-data, so the one-rule change changes the configuration", async () => {
    const before = await config();
    const after = await config((l) => (l.qubes["work-1"]!.firewall!.find((r) => r.dstports === 443)!.dstports = 8443));
    const ud = (c: Record<string, unknown>) => String((c["resource"] as Res).libvirt_cloudinit_disk!["r_benchpeer10-work-1-seed_iso"]!["user_data"]);
    expect(ud(before)).toContain('"dstportstart":443');
    expect(ud(after)).toContain('"dstportstart":8443');
    const rest = (c: Record<string, unknown>) => {
      const x = structuredClone(c);
      delete (x["resource"] as Res).libvirt_cloudinit_disk!["r_benchpeer10-work-1-seed_iso"]!["user_data"];
      return JSON.stringify(x);
    };
    expect(rest(after) === rest(before)).toBe(true);
  });

  it("escapes template sequences: a layout value is never evaluated by tofu", () => {
    expect(lit('${file("/etc/shadow")} %{ if true }x%{ endif } $x %y')).toBe('$${file("/etc/shadow")} %%{ if true }x%%{ endif } $x %y');
    expect(cmdlineMaps("console=ttyS0 quiet x=${y}")).toEqual([{ console: "ttyS0" }, { _: "quiet" }, { x: "$${y}" }]);
    expect(cmdlineMaps(undefined)).toEqual([]);
  });
});

describe("running tofu", () => {
  it("counts finished resources and keeps the first error", () => {
    const out = "a: Creation complete after 1s [id=x]\nb: Destruction complete after 0s\nc: Still creating... [10s elapsed]\n\nError: error while retrieving remote ISO: corrupted-image: EOF\n\n  with libvirt_cloudinit_disk.x,\n";
    expect(completedCount(out)).toBe(2);
    expect(firstError(out)).toBe("Error: error while retrieving remote ISO: corrupted-image: EOF with libvirt_cloudinit_disk.x,");
    expect(firstError("all good")).toBeUndefined();
  });

  function fake(name: string, body: string): string {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }
  const o = () => ({ dir, env: process.env, idleS: 1, maxS: 20 });

  it("reports success, failure, and a hang (still printing, nothing finishing) as outcomes", async () => {
    expect(await runTofu(fake("ok", "echo 'x: Creation complete after 0s'"), [], o())).toMatchObject({ outcome: "ok", completed: 1 });
    expect(await runTofu(fake("fails", "echo 'Error: boom'; exit 1"), [], o())).toMatchObject({ outcome: "failed", completed: 0, error: "Error: boom" });
    const hung = await runTofu(fake("hangs", "echo 'x: Creation complete after 0s'; while :; do echo 'y: Still creating...'; sleep 0.2; done"), [], o());
    expect(hung).toMatchObject({ outcome: "hung", completed: 1 });
    expect(hung.seconds).toBeLessThan(15);
  });

  it("ends the plugin a hung tofu started with it (its process group), not only tofu", async () => {
    const pidFile = join(dir, "plugin.pid");
    // The "plugin" ignores SIGINT as a busy provider would and keeps the output pipe open.
    const hung = await runTofu(fake("plugin", `sh -c 'trap "" INT; echo $$ > ${pidFile}; while :; do sleep 0.2; done' & while :; do echo 'y: Still creating...'; sleep 0.2; done`), [], o());
    expect(hung.outcome).toBe("hung");
    const pid = Number(readFileSync(pidFile, "utf8"));
    // Gone, or a zombie waiting for whoever adopted it to reap it.
    const alive = (p: number) => existsSync(`/proc/${p}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, "utf8"));
    expect(alive(pid)).toBe(false);
  });
});
