import { describe, expect, it } from "vitest";
import { engineOnlyOneUpdate, goals, lineChart, markdownTable, niceMax, ratios, resultRows, type SizeResult } from "../../bench/report";

const MiB = 1048576;

function result(qubes: number, over: Partial<SizeResult> = {}): SizeResult {
  return {
    qubes,
    resources: 4 * qubes,
    baseline: { deployS: 40, calls: 1000 },
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
    expect(ratios(result(200))).toEqual({ deployOverhead: 1.25, noopFraction: 0.08, offlineSpeedup: 25, diskFraction: 0.01 });
  });

  it("judges the goals at the largest size", () => {
    const small = result(10, { deployS: 100 });
    expect(goals([result(200), small])).toEqual([
      { name: "deploy overhead over plain virsh", target: "at most 1.5x", figure: "1.25x at 200 qubes", met: true },
      { name: "no-op update / first deploy", target: "under 10%", figure: "8.0% at 200 qubes", met: true },
      {
        name: "one firewall rule changed",
        target: "one filter, nothing else",
        figure: "nwfilter bench-200-work-1-fw (engine: same 963, update 1) in 3.3 s at 200 qubes",
        met: true,
      },
      { name: "offline check vs preview with policy pack", target: "at least 20x faster", figure: "25.00x at 200 qubes", met: true },
    ]);
  });

  it("misses a goal exactly at its threshold where the issue says under", () => {
    const g = goals([result(200, { deployS: 60, noopS: 6, offline: { checkS: 2.5, previewS: 49.5 } })]);
    expect(g.map((x) => [x.figure, x.met])).toEqual([
      ["1.50x at 200 qubes", true],
      ["10.0% at 200 qubes", false],
      ["nwfilter bench-200-work-1-fw (engine: same 963, update 1) in 3.3 s at 200 qubes", true],
      ["19.80x at 200 qubes", false],
    ]);
  });

  it("counts a second touched object or a replaced resource as a miss", () => {
    expect(engineOnlyOneUpdate({ same: 10, update: 1 })).toBe(true);
    expect(engineOnlyOneUpdate({ same: 10, update: 2 })).toBe(false);
    expect(engineOnlyOneUpdate({ same: 10, replace: 1 })).toBe(false);
    const two = result(200, { change: { seconds: 1, touched: ["domain bench-200-work-1", "nwfilter bench-200-work-1-fw"], engineChanges: { same: 962, update: 2 } } });
    expect(goals([two])[2]!.met).toBe(false);
  });
});

describe("rendering", () => {
  it("writes a Markdown table", () => {
    expect(markdownTable([["a", "b"], ["1", "2"]])).toBe("| a | b |\n| --- | --- |\n| 1 | 2 |");
  });

  it("writes one row per size, smallest first", () => {
    const rows = resultRows([result(200), result(10)]);
    expect(rows.map((r) => r[0])).toEqual(["qubes", "10", "200"]);
    expect(rows[2]).toEqual([
      "200",
      "800",
      "40.0 s",
      "44.0 s",
      "50.0 s",
      "1.25x",
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
