// bulkhead prove against stacks/dev.yaml deployed on the embedded lab (npm run up's
// scripts), then the same proof with isolation broken on purpose: work's filterref
// removed with virsh must show up as exactly the flows that work's firewall closed.
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDomainXml, renderDomainXml } from "../../components/libvirt/xml/domain";
import { loadLayout } from "../../layout/load";
import type { ResolvedLayout } from "../../layout/model";
import { expectedFlows } from "../../prove/expected";
import { prove } from "../../prove/observe";
import { virsh } from "../../provider/virsh";
import { REPO } from "../../scripts/pulumi";
import { main as up } from "../../scripts/up";

// scripts/engine.sh's cache: without it `npm run up` would first build the Pulumi CLI (minutes).
const cacheDir = process.env["BULKHEAD_CACHE"] ?? join(homedir(), ".cache", "bulkhead");
const engineCached = existsSync(cacheDir) && readdirSync(cacheDir).some((d) => d.startsWith("engine-") && existsSync(join(cacheDir, d, "pulumi")));
const URI = "qemu:///system";

describe.skipIf(!engineCached)("bulkhead prove on the lab (stacks/dev.yaml)", () => {
  let layout: ResolvedLayout;
  beforeAll(async () => {
    expect(await up(["dev"])).toBe(0);
    layout = loadLayout(join(REPO, "stacks", "dev.yaml"));
  }, 900_000);

  it("observes every expected flow and no other; storage as Qubes keeps it", async () => {
    const r = await prove(layout, { uri: URI });
    expect(r.flows.filter((f) => f.observed !== f.expect).map((f) => `${f.id}: ${f.observed}`)).toEqual([]);
    expect(r.storage.filter((s) => s.observed !== s.expect).map((s) => s.id)).toEqual([]);
    expect(r.templateImage?.unchanged).toBe(true);
    expect(r.ok).toBe(true);
  }, 1_200_000);

  describe("with work's egress filter removed by hand", () => {
    const dom = "dev-work";
    let original = "";
    beforeAll(async () => {
      original = await virsh(URI, ["dumpxml", "--inactive", "--domain", dom]);
      const parsed = parseDomainXml(original);
      const { uuid, metadata, ...rest } = parsed;
      const broken = { ...rest, metadata: metadata!, devices: { ...rest.devices, interfaces: rest.devices.interfaces.map(({ filterref: _f, ...i }) => i) } };
      await virsh(URI, ["define"], { xml: renderDomainXml(broken, uuid === undefined ? {} : { uuid }) });
    });
    afterAll(async () => {
      await virsh(URI, ["destroy", "--domain", dom]).catch(() => undefined);
      await virsh(URI, ["define"], { xml: original });
    });

    it("reports exactly the flows that work's firewall had closed", async () => {
      const open: ResolvedLayout = { ...layout, qubes: layout.qubes.map((q) => (q.name === "work" ? { ...q, firewall: [{ action: "accept" as const }] } : q)) };
      const closed = new Map(expectedFlows(layout).map((f) => [f.id, f.expect]));
      const opened = expectedFlows(open).filter((f) => f.expect === "pass" && closed.get(f.id) === "blocked").map((f) => f.id);
      expect(opened.length).toBeGreaterThan(0);
      const r = await prove(layout, { uri: URI });
      expect(r.flows.filter((f) => f.observed !== f.expect).map((f) => f.id)).toEqual(opened);
      expect(r.flows.filter((f) => f.observed !== f.expect).every((f) => f.observed === "pass")).toBe(true);
      expect(r.ok).toBe(false);
    }, 1_200_000);
  });
});
