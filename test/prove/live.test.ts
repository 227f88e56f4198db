// bulkhead prove against stacks/dev.yaml deployed on the embedded lab (npm run up's
// scripts), through each guest's agent (the lab image runs qemu-ga), then the same
// proof with isolation broken on purpose, on the other path (every source restarted
// with a probes seed): work's filterref removed with virsh must show up as exactly the
// flows its port filter kept closed.
// Leaves the dev stack destroyed (npm run down), so the machine is left clean.
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDomainXml, renderDomainXml } from "../../libvirt/xml/domain";
import { loadLayout } from "../../layout/load";
import type { ResolvedLayout } from "../../layout/model";
import { expectedFlows, LAB_WORLD } from "../../prove/expected";
import { prove } from "../../prove/observe";
import { virsh } from "../../libvirt/virsh";
import { main as down } from "../../scripts/down";
import { REPO } from "../../deploy/engine";
import { main as up } from "../../scripts/up";

// scripts/engine.sh's cache: without it `npm run up` would first build the Pulumi CLI (minutes).
const cacheDir = process.env["BULKHEAD_CACHE"] ?? join(homedir(), ".cache", "bulkhead");
const engineCached = existsSync(cacheDir) && readdirSync(cacheDir).some((d) => d.startsWith("engine-") && existsSync(join(cacheDir, d, "pulumi")));
const runnable = engineCached && process.getuid?.() === 0;
const URI = "qemu:///system";
// 20 s (the guest's default) rather than prove's 30: every destination is up before its sources probe.
const DEADLINE = 20;

describe.skipIf(!runnable).sequential("bulkhead prove on the lab (stacks/dev.yaml)", () => {
  let layout: ResolvedLayout;
  beforeAll(async () => {
    expect(await up(["dev"])).toBe(0);
    layout = loadLayout(join(REPO, "stacks", "dev.yaml"));
  }, 600_000);
  afterAll(async () => {
    expect(await down(["dev"])).toBe(0);
    const left = (await virsh(URI, ["list", "--all", "--name"])).split("\n").filter((d) => d.startsWith("dev-"));
    expect(left).toEqual([]);
  }, 300_000);

  it("observes every expected flow and no other; storage as Qubes keeps it", async () => {
    const r = await prove(layout, { uri: URI, deadline: DEADLINE });
    expect(r.paths).toEqual({ "sys-net": "agent", "sys-firewall": "agent", work: "agent", personal: "agent", vault: "agent", dvm: "agent", untrusted: "agent" });
    expect(r.flows.filter((f) => f.observed !== f.expect).map((f) => `${f.id}: ${f.observed}${f.note ? ` (${f.note})` : ""}`)).toEqual([]);
    expect(r.flows.length).toBe(8 * (7 * 4 + 4 + 6 + 2));
    expect(r.storage.filter((s) => s.observed !== s.expect).map((s) => `${s.id}: ${s.observed}`)).toEqual([]);
    expect(r.storage.length).toBe(16);
    expect(r.templateImage?.unchanged).toBe(true);
    expect(r.ok).toBe(true);
  }, 900_000);

  describe("with work's port filter removed by hand", () => {
    const dom = "dev-work";
    let original = "";
    beforeAll(async () => {
      original = await virsh(URI, ["dumpxml", "--inactive", "--domain", dom]);
      const parsed = parseDomainXml(original);
      const { uuid, metadata, ...rest } = parsed;
      const broken = { ...rest, metadata: metadata!, devices: { ...rest.devices, interfaces: rest.devices.interfaces.map(({ filterref: _f, ...i }) => i) } };
      await virsh(URI, ["define"], { xml: renderDomainXml(broken, uuid === undefined ? {} : { uuid }) });
      expect(await virsh(URI, ["dumpxml", "--inactive", "--domain", dom])).not.toContain("filterref");
    });
    afterAll(async () => {
      if ((await virsh(URI, ["domstate", "--domain", dom])).trim() !== "shut off") await virsh(URI, ["destroy", "--domain", dom]);
      await virsh(URI, ["define"], { xml: original });
    });

    it("reports exactly the flows that work's filter had closed, from work and from its netvm", async () => {
      // Only work's own flows and those of its netvm (connections in to work) can change.
      const only = ["work", "sys-firewall"];
      const closed = new Map(expectedFlows(layout).map((f) => [f.id, f.expect]));
      const opened = expectedFlows(layout, LAB_WORLD, { unfiltered: ["work"] })
        .filter((f) => f.expect === "pass" && closed.get(f.id) === "blocked")
        .map((f) => f.id);
      expect(opened).toEqual([
        "sys-firewall->work icmp",
        "sys-firewall->work tcp/7",
        "sys-firewall->work tcp/80",
        "sys-firewall->work udp/7",
        "work->internet tcp/53",
        "work->internet tcp/443",
        "work->internet tcp/8080",
        "work->internet udp/53",
      ]);
      const r = await prove(layout, { uri: URI, deadline: DEADLINE, only, restart: true });
      expect(r.paths).toEqual({ "sys-firewall": "restart", work: "restart" });
      const differ = r.flows.filter((f) => f.observed !== f.expect);
      expect(differ.map((f) => `${f.id}: ${f.observed}`)).toEqual(opened.map((id) => `${id}: pass`));
      expect(r.ok).toBe(false);
    }, 600_000);
  });
});
