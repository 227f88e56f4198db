import { describe, expect, test } from "vitest";
import { checkExitCode, formatCheckText, invalidReport, validReport, type CheckViolation } from "../../cli/check";

const mandatory: CheckViolation = { policy: "clients-behind-proxy", level: "mandatory", qube: "work", path: "qubes.work", line: 12, message: "work connects to sys-net" };
const advisory: CheckViolation = { policy: "memory-budget", level: "advisory", qube: "sys-net", path: "qubes.sys-net", line: null, message: "too much" };

describe("validReport", () => {
  test("no violations: ok, exit 0", () => {
    const r = validReport("l.yaml", { qubes: 7, resources: 31, violations: [] });
    expect(r).toEqual({
      layout: "l.yaml",
      ok: true,
      errors: [],
      violations: [],
      summary: { qubes: 7, resources: 31, mandatory: 0, advisory: 0 },
    });
    expect(checkExitCode(r)).toBe(0);
  });

  test("an advisory violation alone does not fail", () => {
    const r = validReport("l.yaml", { qubes: 1, resources: 4, violations: [advisory] });
    expect(r.ok).toBe(true);
    expect(r.summary).toEqual({ qubes: 1, resources: 4, mandatory: 0, advisory: 1 });
    expect(checkExitCode(r)).toBe(0);
    expect(checkExitCode(r, true)).toBe(1);
  });

  test("a mandatory violation fails with exit 1", () => {
    const r = validReport("l.yaml", { qubes: 1, resources: 4, violations: [mandatory, advisory] });
    expect(r.ok).toBe(false);
    expect(r.summary).toEqual({ qubes: 1, resources: 4, mandatory: 1, advisory: 1 });
    expect(checkExitCode(r)).toBe(1);
    expect(formatCheckText(r)).toBe(
      "mandatory clients-behind-proxy (work, line 12): work connects to sys-net\n" +
        "advisory memory-budget (sys-net): too much\n" +
        "l.yaml: FAILED: 1 qubes, 4 libvirt resources, 1 mandatory and 1 advisory violations\n",
    );
  });
});

describe("invalidReport", () => {
  const r = invalidReport("bad.yaml", [
    { path: "", message: "the file is empty; a layout starts with version: 1" },
    { path: "qubes.work.netvm", line: 12, message: '"sys-nett" is not a qube' },
  ]);

  test("lines become null when unknown, exit 2", () => {
    expect(r.errors).toEqual([
      { path: "", line: null, message: "the file is empty; a layout starts with version: 1" },
      { path: "qubes.work.netvm", line: 12, message: '"sys-nett" is not a qube' },
    ]);
    expect(r.ok).toBe(false);
    expect(r.summary).toEqual({ qubes: 0, resources: 0, mandatory: 0, advisory: 0 });
    expect(checkExitCode(r)).toBe(2);
  });

  test("text names path and line", () => {
    expect(formatCheckText(r)).toBe(
      "bad.yaml: invalid layout\n" +
        "  the file is empty; a layout starts with version: 1\n" +
        '  qubes.work.netvm (line 12): "sys-nett" is not a qube\n' +
        "2 errors; nothing was simulated\n",
    );
  });
});

describe("checkExitCode over several reports: the worst one", () => {
  const clean = validReport("a.yaml", { qubes: 1, resources: 4, violations: [] });
  const advised = validReport("b.yaml", { qubes: 1, resources: 4, violations: [advisory] });
  const failed = validReport("c.yaml", { qubes: 1, resources: 4, violations: [mandatory] });
  const invalid = invalidReport("d.yaml", [{ path: "", message: "empty" }]);
  test.each([
    [[clean, clean], false, 0],
    [[clean, advised], false, 0],
    [[clean, advised], true, 1],
    [[advised, failed], false, 1],
    [[failed, invalid, clean], false, 2],
    [[invalid, advised], true, 2],
  ] as const)("%#", (reports, strict, code) => {
    expect(checkExitCode([...reports], strict)).toBe(code);
  });
});
