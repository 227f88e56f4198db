// Vitest global setup: many suites run the compiled build (the CLI, the
// provider plugin, the language host) as child processes, so dist/ must be
// current. `npm test` compiles first; this covers `npx vitest run <file>`
// after an edit. It runs once, before any worker, so no two compiles race.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const SOURCES = ["index.ts", "layout", "libvirt", "components", "provider", "policies", "render", "deploy", "cli", "prove", "lab", "langhost", "scripts", "bench"];
const OUTPUTS = ["cli/main.js", "provider/main.js", "langhost/main.js", "scripts/up.js"];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return path.endsWith(".ts") ? st.mtimeMs : 0;
  return readdirSync(path).reduce((m, name) => Math.max(m, newest(join(path, name))), 0);
}

export function distIsStale(): boolean {
  const built = Math.min(...OUTPUTS.map((f) => (existsSync(join(root, "dist", f)) ? statSync(join(root, "dist", f)).mtimeMs : 0)));
  return built < Math.max(...SOURCES.map((s) => newest(join(root, s))));
}

export default function setup(): void {
  if (!distIsStale()) return;
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
}
