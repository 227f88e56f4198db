// The layouts `npm run bench` checks at the size limits: what they are, never how fast.
import { describe, expect, it } from "vitest";
import { checkCases, checkTable, validLayout } from "../../bench/check";
import { parseLayout } from "../../layout/load";
import { MAX_LAYOUT_BYTES } from "../../layout/source";

describe("bench check cases", () => {
  it("the valid case is a valid 5,000-qube layout", () => {
    expect(parseLayout(validLayout(), "v.yaml").qubes.length).toBe(5000);
  });

  it("every case fits the loader's size limit", () => {
    for (const c of checkCases()) expect(Buffer.byteLength(c.yaml)).toBeLessThanOrEqual(MAX_LAYOUT_BYTES);
  });

  it("marks a row met only under its limit and with the expected exit status", () => {
    const row = { name: "x", bytes: 1, qubes: 1, exit: 0, expectedExit: 0, seconds: 1, limitS: 3 };
    expect(checkTable([row, { ...row, seconds: 4 }, { ...row, exit: 2 }]).map((r) => r.at(-1))).toEqual(["met", "yes", "**no**", "**no**"]);
  });
});

describe("bench check rows", () => {
  it("show the check's own CPU time and the load it ran under, or a dash when not measured", () => {
    const row = { name: "x", bytes: 1, qubes: 1, exit: 0, expectedExit: 0, seconds: 4.5, limitS: 3 };
    expect(checkTable([{ ...row, cpuS: 1.234, load: 7.25 }, row]).map((r) => [r[5], r[6]])).toEqual([
      ["its CPU", "load"],
      ["1.23 s", "7.3"],
      ["-", "-"],
    ]);
  });
});
