// `bulkhead check` on a generated 200-qube layout, through the compiled CLI:
// it completes and reports ok. How long it takes is a benchmark's business
// (scripts/gen-layout.ts), not a test's.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateLayout, layoutToYaml } from "../../scripts/gen-layout";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");

const dir = mkdtempSync(join(tmpdir(), "bulkhead-scale-"));
const file = join(dir, "l200.yaml");

beforeAll(() => {
  writeFileSync(file, layoutToYaml(generateLayout(200), "scale test"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

test("bulkhead check of a 200-qube layout reports ok", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [cli, "check", file, "--json"], { cwd: root, maxBuffer: 64 << 20 });
  const report = JSON.parse(stdout) as { ok: boolean; errors: unknown[]; violations: unknown[]; summary: { qubes: number } };
  // execFile rejects on a non-zero exit, so reaching here means exit 0.
  expect([report.ok, report.errors, report.violations, report.summary.qubes]).toEqual([true, [], [], 200]);
});
