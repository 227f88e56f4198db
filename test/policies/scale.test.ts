// `bulkhead check` on a generated 200-qube layout, through the compiled CLI:
// it completes and reports ok. How long it takes is a benchmark's business
// (scripts/gen-layout.ts), not a test's.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generateLayout, layoutToYaml } from "../../scripts/gen-layout";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/** As in corpus.test.ts: rebuild a stale dist, one tsc at a time across workers. */
function ensureBuilt(): void {
  const lock = join(tmpdir(), `bulkhead-build-${root.replace(/[^A-Za-z0-9]/g, "_")}.lock`);
  const stale = () => mtime(cli) < Math.max(...["cli", "layout", "components", "policies"].map((d) => newestSource(join(root, d))));
  const deadline = Date.now() + 170_000;
  while (stale()) {
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for too long; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      continue;
    }
    try {
      if (stale()) {
        execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
          cwd: root,
          stdio: "inherit",
        });
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), "bulkhead-scale-"));
const file = join(dir, "l200.yaml");

beforeAll(() => {
  ensureBuilt();
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
