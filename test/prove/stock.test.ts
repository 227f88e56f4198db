// bulkhead prove on stock Debian guests: stacks/stock.yaml (lab/images/stock.sh's image, Debian's
// own cloud-init applying bulkhead's seed) deployed on the embedded lab by `npm run up stock`,
// proved through each guest's qemu-guest-agent on the running guests (no probes seed, no
// restart but the storage checks'), then destroyed. The restart path is test/prove/live.test.ts.
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { worldFor } from "../../cli/prove";
import { loadLayout } from "../../layout/load";
import type { ResolvedLayout } from "../../layout/model";
import { prove } from "../../prove/observe";
import { virsh } from "../../libvirt/virsh";
import { main as down } from "../../scripts/down";
import { REPO } from "../../deploy/engine";
import { main as up } from "../../scripts/up";

const cacheDir = process.env["BULKHEAD_CACHE"] ?? join(homedir(), ".cache", "bulkhead");
const engineCached = existsSync(cacheDir) && readdirSync(cacheDir).some((d) => d.startsWith("engine-") && existsSync(join(cacheDir, d, "pulumi")));
// Opt-in (BULKHEAD_PROVE_STOCK=1): about 18 minutes under emulation, and not yet seen passing whole
// (its storage checks found the private volume reformatted at every boot, fixed in components/seed.ts).
const runnable = engineCached && process.getuid?.() === 0 && process.env["BULKHEAD_PROVE_STOCK"] === "1";
const URI = "qemu:///system";
const DEADLINE = 20;

describe.skipIf(!runnable).sequential("bulkhead prove on stock Debian guests (stacks/stock.yaml)", () => {
  let layout: ResolvedLayout;
  beforeAll(async () => {
    expect(await up(["stock"])).toBe(0);
    layout = loadLayout(join(REPO, "stacks", "stock.yaml"));
  }, 1_500_000);
  afterAll(async () => {
    expect(await down(["stock"])).toBe(0);
    const left = (await virsh(URI, ["list", "--all", "--name"])).split("\n").filter((d) => d.startsWith("stock-"));
    expect(left).toEqual([]);
  }, 300_000);

  it("observes every expected flow and no other through the guest agents; storage as Qubes keeps it", async () => {
    const r = await prove(layout, { uri: URI, deadline: DEADLINE, world: worldFor(layout) });
    expect(r.flows.filter((f) => f.observed !== f.expect).map((f) => `${f.id}: ${f.observed}${f.note ? ` (${f.note})` : ""}`)).toEqual([]);
    // 8 sources; per source 7 other machines x (icmp, tcp/22), the host 4, the internet 6, DNS 2.
    expect(r.flows.length).toBe(8 * (7 * 2 + 4 + 6 + 2));
    expect(r.flows.find((f) => f.id === "work->sys-firewall tcp/22")).toMatchObject({ expect: "blocked", observed: "blocked", method: "probe" });
    expect(r.flows.find((f) => f.id === "sys-firewall->sys-net tcp/22")).toMatchObject({ expect: "blocked", observed: "blocked", method: "probe" });
    expect(r.storage.filter((s) => s.observed !== s.expect).map((s) => `${s.id}: ${s.observed}`)).toEqual([]);
    expect(r.storage.length).toBe(16);
    expect(r.templateImage?.unchanged).toBe(true);
    expect(r.paths).toEqual({ "sys-net": "agent", "sys-firewall": "agent", work: "agent", personal: "agent", vault: "agent", dvm: "agent", untrusted: "agent" });
    expect(r.ok).toBe(true);
  }, 1_500_000);
});
