import { describe, expect, test } from "vitest";
import { checkExitCode, formatCheckText, invalidReport, validReport } from "../../cli/check";
import type { Violation } from "../../cli/policies";

const mandatory: Violation = { policy: "clients-behind-proxy", level: "mandatory", qube: "work", message: "work connects to sys-net" };
const advisory: Violation = { policy: "memory-budget", level: "advisory", qube: "sys-net", message: "too much" };

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
  });

  test("a mandatory violation fails with exit 1", () => {
    const r = validReport("l.yaml", { qubes: 1, resources: 4, violations: [mandatory, advisory] });
    expect(r.ok).toBe(false);
    expect(r.summary).toEqual({ qubes: 1, resources: 4, mandatory: 1, advisory: 1 });
    expect(checkExitCode(r)).toBe(1);
    expect(formatCheckText(r)).toBe(
      "mandatory clients-behind-proxy (work): work connects to sys-net\n" +
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
