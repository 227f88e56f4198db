import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { simulateLayout } from "../../components/simulate";
import { parseLayout } from "../../layout/load";
import { callCounts, planBaseline } from "../../bench/calls";
import { benchLayout } from "../../bench/run";

const host = { prefix: "bencht-", pool: "bencht-pool", poolPath: "/var/lib/libvirt/bencht" };
// A source image larger than the declared 8 GiB, so the plan must size the volume for it.
const facts = { fileSize: () => 10737418240, seedSize: () => 4096 };

async function plan() {
  const layout = parseLayout(stringify(benchLayout(7, host)), "bench.yaml");
  return planBaseline(await simulateLayout(layout), facts);
}

describe("the baseline's call plan", () => {
  it("makes exactly the provider's define/create calls for a 7-qube layout", async () => {
    expect(callCounts(await plan())).toEqual({
      define: 8,
      "net-autostart": 3,
      "net-define": 3,
      "net-start": 3,
      "nwfilter-define": 5,
      "pool-autostart": 1,
      "pool-build": 1,
      "pool-define": 1,
      "pool-start": 1,
      "vol-create": 15,
      "vol-upload": 9,
    });
  });

  it("orders every object after what it uses", async () => {
    const steps = await plan();
    const at = new Map(steps.map((s, i) => [s.urn, i]));
    for (const [i, s] of steps.entries()) for (const a of s.after) expect(at.get(a)! < i).toBe(true);
    const work = steps.find((s) => s.object === "bencht-work-1")!;
    expect(work.after.map((u) => u.split("::").pop())).toEqual([
      "bulkhead-work-1-fw",
      "bulkhead-work-1-private",
      "bulkhead-work-1-seed",
      "bulkhead-sys-firewall-clients",
      "bulkhead-lab-root",
    ]);
    expect(steps.find((s) => s.object === "bencht-pool/bencht-lab-root.qcow2")!.after.map((u) => u.split("::").pop())).toEqual(["bulkhead-pool"]);
  });

  it("pins the pool's calls and the template image's size-aware create", async () => {
    const steps = await plan();
    const pool = steps.find((s) => s.type === "bulkhead:libvirt:Pool")!;
    expect(pool.create.map((c) => c.args)).toEqual([["pool-define"], ["pool-build", "--pool", "bencht-pool"], ["pool-start", "--pool", "bencht-pool"], ["pool-autostart", "--pool", "bencht-pool"]]);
    expect(pool.create[0]!.xml).toContain("<path>/var/lib/libvirt/bencht</path>");
    expect(pool.remove.map((c) => c.args)).toEqual([["pool-destroy", "--pool", "bencht-pool"], ["pool-undefine", "--pool", "bencht-pool"]]);
    const root = steps.find((s) => s.object === "bencht-pool/bencht-lab-root.qcow2")!;
    expect(root.create.map((c) => c.args)).toEqual([
      ["vol-create", "--pool", "bencht-pool"],
      ["vol-upload", "--pool", "bencht-pool", "--vol", "bencht-lab-root.qcow2", "--file", "/var/lib/bulkhead-lab/images/root.img"],
    ]);
    expect(root.create[0]!.xml).toBe(
      '<volume type="file">\n  <name>bencht-lab-root.qcow2</name>\n  <capacity unit="bytes">10737418240</capacity>\n  <allocation unit="bytes">0</allocation>\n  <target>\n    <format type="raw"/>\n  </target>\n</volume>\n',
    );
  });

  it("uploads each seed and defines each filter with the project's XML, never starting a qube", async () => {
    const steps = await plan();
    const seed = steps.find((s) => s.object === "bencht-pool/bencht-work-1-seed.iso")!;
    expect(seed.create[1]!.args).toEqual(["vol-upload", "--pool", "bencht-pool", "--vol", "bencht-work-1-seed.iso"]);
    expect(seed.create[1]!.seed?.metaData).toBe("instance-id: bencht-work-1\nlocal-hostname: work-1\n");
    const fw = steps.find((s) => s.object === "bencht-work-1-fw")!;
    expect(fw.create.map((c) => c.args)).toEqual([["nwfilter-define"]]);
    expect(fw.create[0]!.xml?.startsWith('<filter name="bencht-work-1-fw" chain="root">')).toBe(true);
    expect(steps.flatMap((s) => s.create).filter((c) => c.args[0] === "start" || c.args[0] === "autostart")).toEqual([]);
  });
});
