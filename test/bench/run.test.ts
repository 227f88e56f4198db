import { describe, expect, it } from "vitest";
import { benchLayout, changeOneRule, parseArgs } from "../../bench/run";

const host = { prefix: "bench10-", pool: "bench10-pool", poolPath: "/var/lib/libvirt/bench10" };

describe("bench options and layouts", () => {
  it("defaults to 10, 50 and 200 qubes at 4 x CPUs, like pulumi up", () => {
    expect(parseArgs([], 2)).toMatchObject({ sizes: [10, 50, 200], parallel: 8 });
    expect(parseArgs(["--sizes", "10,50", "--parallel", "3"], 2)).toMatchObject({ sizes: [10, 50], parallel: 3 });
    expect(() => parseArgs(["--sizes", "5"], 2)).toThrow("--sizes: whole numbers of at least 7 qubes");
    expect(() => parseArgs(["--fast"], 2)).toThrow("unknown or incomplete option --fast");
  });

  it("uses the bench's own prefix and pool, and starts no qube", () => {
    const l = benchLayout(10, host);
    expect(l.host).toMatchObject(host);
    expect(Object.keys(l.qubes).length).toBe(10);
    expect(Object.values(l.qubes).map((q) => (q as { autostart?: boolean }).autostart)).toEqual(Array(10).fill(false));
  });

  it("changes exactly one firewall rule", () => {
    const l = benchLayout(10, host);
    const before = structuredClone(l);
    changeOneRule(l);
    expect(l.qubes["work-1"]!.firewall!.map((r) => r.dstports)).toEqual([undefined, 8443, 22]);
    l.qubes["work-1"]!.firewall![1]!.dstports = 443;
    expect(l).toEqual(before);
  });
});
