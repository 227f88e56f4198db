import { describe, expect, it } from "vitest";
import { engineOnlyOneUpdate, goals, lineChart, markdownTable, niceMax, noopCell, peerBest, peerCell, peerRows, ratios, resultRows, timePlot, type PeerResult, type SizeResult } from "../../bench/report";

const MiB = 1048576;

function result(qubes: number, over: Partial<SizeResult> = {}): SizeResult {
  return {
    qubes,
    resources: 4 * qubes,
    baseline: { deployS: 40, calls: 1000 },
    floor: { deployS: 25, calls: 1000 },
    deployPerCallS: 60,
    handlersS: 44,
    deployS: 50,
    deployEveryStepS: 42,
    noopS: 4,
    change: { seconds: 3.25, touched: ["nwfilter bench-200-work-1-fw"], engineChanges: { same: 963, update: 1 } },
    offline: { checkS: 2, previewS: 50 },
    rss: { engine: 300 * MiB, provider: 120 * MiB, program: 400 * MiB },
    cpu: { deploy: { engine: 20, provider: 10, program: 5 }, noop: { engine: 2, provider: 1, program: 1 } },
    disk: { poolBytes: 512 * MiB, templateBytes: 256 * MiB, copies: qubes },
    ...over,
  };
}

describe("ratios and goals", () => {
  it("computes each ratio against its own baseline", () => {
    expect(ratios(result(200))).toEqual({ deployOverhead: 1.25, deployOverFloor: 2, noopFraction: 0.08, offlineSpeedup: 25, diskFraction: 0.01 });
  });

  it("judges the goals at the largest size", () => {
    const small = result(10, { deployS: 100 });
    expect(goals([result(200), small])).toEqual([
      { name: "deploy against the single-connection floor", target: "at most 1.2x", figure: "2.00x at 200 qubes", met: false },
      { name: "deploy overhead over plain virsh", target: "at most 1.5x", figure: "1.25x at 200 qubes", met: true },
      { name: "no-op update / first deploy", target: "under 10%", figure: "8.0% at 200 qubes", met: true },
      {
        name: "one firewall rule changed",
        target: "one filter, nothing else",
        figure: "nwfilter bench-200-work-1-fw (engine: same 963, update 1) in 3.3 s at 200 qubes",
        met: true,
      },
      { name: "offline check vs preview with policy pack", target: "at least 50x faster", figure: "25.00x at 200 qubes", met: false },
    ]);
  });

  it("misses a goal exactly at its threshold where the issue says under", () => {
    const g = goals([result(200, { deployS: 60, floor: { deployS: 50, calls: 1000 }, noopS: 6, offline: { checkS: 1, previewS: 49.9 } })]);
    expect(g.map((x) => [x.figure, x.met])).toEqual([
      ["1.20x at 200 qubes", true],
      ["1.50x at 200 qubes", true],
      ["10.0% at 200 qubes", false],
      ["nwfilter bench-200-work-1-fw (engine: same 963, update 1) in 3.3 s at 200 qubes", true],
      ["49.90x at 200 qubes", false],
    ]);
  });

  it("counts a second touched object or a replaced resource as a miss", () => {
    expect(engineOnlyOneUpdate({ same: 10, update: 1 })).toBe(true);
    expect(engineOnlyOneUpdate({ same: 10, update: 2 })).toBe(false);
    expect(engineOnlyOneUpdate({ same: 10, replace: 1 })).toBe(false);
    const two = result(200, { change: { seconds: 1, touched: ["domain bench-200-work-1", "nwfilter bench-200-work-1-fw"], engineChanges: { same: 962, update: 2 } } });
    expect(goals([two])[3]!.met).toBe(false);
  });
});

const MiB2 = 1048576;
/** A peer that hung at its default parallelism and finished with -parallelism=1. */
function peer(deployS: number, noopS: number): PeerResult {
  return {
    resources: 47,
    modes: [
      {
        parallelism: 10,
        phases: {
          deploy: { outcome: "hung", seconds: 130.5, completed: 83, rss: { engine: 90 * MiB2, provider: 60 * MiB2, program: 0 } },
          destroy: { outcome: "ok", seconds: 20, completed: 83 },
        },
      },
      {
        parallelism: 1,
        phases: {
          deploy: { outcome: "ok", seconds: deployS, completed: 47, rss: { engine: 100 * MiB2, provider: 50 * MiB2, program: 0 } },
          noop: { outcome: "ok", seconds: noopS, completed: 0 },
          change: { outcome: "failed", seconds: 2, completed: 0, error: "Error: a | b" },
          destroy: { outcome: "ok", seconds: 30, completed: 47 },
        },
      },
    ],
  };
}

describe("the peer", () => {
  it("takes its fastest finished run of a phase; a hung or failed run does not count", () => {
    expect(peerBest(peer(106, 0.5), "deploy")).toEqual({ seconds: 106, parallelism: 1 });
    expect(peerBest(peer(106, 0.5), "change")).toBeUndefined();
  });

  it("judges deploy and no-op against the peer at every size, and memory against the peer's", () => {
    const g = goals([result(10, { deployS: 3, noopS: 2, peer: peer(7.3, 0.5) }), result(200, { peer: peer(600, 30) })]);
    expect(g.find((x) => x.name.startsWith("deploy faster"))).toEqual({
      name: "deploy faster than the peer (OpenTofu), every size",
      target: "faster",
      figure: "10: 3.0 s vs 7.3 s (-parallelism=1); 200: 50.0 s vs 600.0 s (-parallelism=1)",
      met: true,
    });
    expect(g.find((x) => x.name.startsWith("no-op faster"))).toEqual({
      name: "no-op faster than the peer's no-op, every size",
      target: "faster",
      figure: "10: 2.0 s vs 0.5 s (-parallelism=1); 200: 4.0 s vs 30.0 s (-parallelism=1)",
      met: false,
    });
    expect(g.find((x) => x.name.startsWith("peak memory"))).toMatchObject({ figure: "10: 820 MiB vs 160 MiB; 200: 820 MiB vs 160 MiB", met: false });
  });

  it("does not count a peer that never finished as beaten", () => {
    const failed: PeerResult = { resources: 47, modes: [{ parallelism: 1, phases: { deploy: { outcome: "failed", seconds: 3, completed: 5, error: "Error: x" } } }] };
    expect(goals([result(10, { peer: failed })]).find((x) => x.name.startsWith("deploy faster"))).toMatchObject({
      figure: "10: 50.0 s vs peer never finished (no comparison)",
      met: false,
    });
    expect(peerCell({ outcome: "failed", seconds: 1, completed: 0, error: "E".repeat(200) })).toBe(`failed after 0 resources (1.0 s): ${"E".repeat(160)}…`);
  });

  it("writes failures and hangs as results, with the error escaped for the table", () => {
    expect(peerCell(peer(1, 1).modes[0]!.phases.deploy)).toBe("hung after 83 resources (130.5 s)");
    expect(peerCell(peer(1, 1).modes[1]!.phases.change)).toBe("failed after 0 resources (2.0 s): Error: a \\| b");
    expect(peerRows([result(10, { peer: peer(7.3, 0.5) })])).toEqual([
      ["qubes", "tofu -parallelism", "Terraform resources", "peer deploy", "peer no-op", "peer one change", "peer destroy", "peak RSS tofu / provider", "bulkhead deploy / no-op", "peer deploy / bulkhead deploy"],
      ["10", "10", "47", "hung after 83 resources (130.5 s)", "skipped (deploy did not finish)", "skipped", "20.0 s", "90 MiB / 60 MiB", "50.0 s / 4.0 s", "-"],
      ["10", "1", "47", "7.3 s", "0.5 s", "failed after 0 resources (2.0 s): Error: a \\| b", "30.0 s", "100 MiB / 50 MiB", "50.0 s / 4.0 s", "0.15x"],
    ]);
  });

  it("says when the peer's no-op apply changed resources again", () => {
    expect(noopCell({ outcome: "ok", seconds: 29, completed: 22 })).toBe("29.0 s (not a no-op: 22 resources changed again)");
    expect(noopCell({ outcome: "ok", seconds: 0.5, completed: 0 })).toBe("0.5 s");
    expect(noopCell(undefined)).toBe("skipped (deploy did not finish)");
  });

  it("plots the peer's finished runs only", () => {
    const svg = timePlot([result(10, { peer: peer(7.3, 0.5) })]);
    expect(svg).toContain("peer tofu apply, -parallelism=1");
    expect(svg).not.toContain("peer tofu apply, default");
    expect(svg).toContain("one connection (floor)");
  });
});

describe("rendering", () => {
  it("writes a Markdown table", () => {
    expect(markdownTable([["a", "b"], ["1", "2"]])).toBe("| a | b |\n| --- | --- |\n| 1 | 2 |");
  });

  it("marks the before/after deploys not run at a size above their limit", () => {
    const { deployPerCallS: _a, deployEveryStepS: _b, ...without } = result(200);
    const row = resultRows([without])[1]!;
    expect(row.slice(8, 10)).toEqual(["not run above 50 qubes", "not run above 50 qubes"]);
  });

  it("writes one row per size, smallest first", () => {
    const rows = resultRows([result(200), result(10)]);
    expect(rows.map((r) => r[0])).toEqual(["qubes", "10", "200"]);
    expect(rows[2]).toEqual([
      "200",
      "800",
      "40.0 s",
      "25.0 s",
      "44.0 s",
      "50.0 s",
      "1.25x",
      "2.00x",
      "60.0 s",
      "42.0 s (1.05x)",
      "4.0 s",
      "8.0%",
      "3.3 s",
      "nwfilter bench-200-work-1-fw (engine: same 963, update 1)",
      "2.0 s",
      "50.0 s",
      "25.00x",
      "300 MiB / 120 MiB / 400 MiB",
      "512 MiB",
      "51200 MiB",
      "1.0%",
    ]);
  });

  it("rounds axis maxima up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 7, 12, 200, 201, 4999].map(niceMax)).toEqual([1, 0.5, 1, 10, 20, 200, 500, 5000]);
  });

  it("plots each series as a polyline on linear axes", () => {
    const svg = lineChart("t", "x", "y", [{ name: "a", color: "#000", points: [{ x: 200, y: 50 }, { x: 0, y: 0 }] }]);
    // x: 60 + x/200 * 400; y: 350 - y/50 * 310
    expect(svg).toContain('<polyline fill="none" stroke="#000" stroke-width="2" points="60.0,350.0 460.0,40.0"/>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="700" height="400"')).toBe(true);
    expect(svg.match(/<circle /g)?.length).toBe(2);
  });
});
