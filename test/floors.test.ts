// The floors: every top-level folder imports only folders below it in FLOORS (README, "A tour
// of the folders": nothing imports upward), and libvirt/, the ground floor, imports nothing of the
// project. Read from the source: every relative import, re-export and dynamic import() of every
// non-test .ts file, type-only imports included.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";

/** Bottom first. A folder may import any folder before it, none after it. */
export const FLOORS = [
  "libvirt",
  "langhost",
  "layout",
  "components",
  "provider",
  "policies",
  "render",
  "lab",
  "prove",
  "deploy",
  "cli",
  "scripts",
  "bench",
  "index.ts",
] as const;

const root = join(__dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sources(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The relative module specifiers a file imports, re-exports or loads with import(). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\sfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1]?.startsWith(".") === true) specs.push(m[1]);
  return specs;
}

/** The top-level folder (or root file) a repository path belongs to. */
function floorOf(path: string): string {
  return relative(root, path).split(sep)[0] ?? "";
}

/** Every import that crosses floors: [from file, to floor]. */
function crossings(): { file: string; from: string; to: string }[] {
  const files = [join(root, "index.ts"), ...FLOORS.filter((f) => f !== "index.ts").flatMap((f) => sources(join(root, f)))];
  return files.flatMap((file) =>
    importsOf(readFileSync(file, "utf8"))
      .map((spec) => ({ file: relative(root, file), from: floorOf(file), to: floorOf(normalize(join(dirname(file), spec))) }))
      .filter((c) => c.from !== c.to),
  );
}

describe("the floors", () => {
  it("reads imports of every kind, and only relative ones", () => {
    const text = [
      'import { a } from "../libvirt/virsh";',
      'import type { B } from "./b";',
      'export { c } from "../render/table";',
      'export * from "./d";',
      'const { e } = await import("../policies/evaluate.js");',
      'import "./side-effect";',
      'import { z } from "zod";',
    ].join("\n");
    expect(importsOf(text).sort()).toEqual(["../libvirt/virsh", "../policies/evaluate.js", "../render/table", "./b", "./d", "./side-effect"].sort());
  });

  it("every source folder is on a floor", () => {
    const onFloor = new Set<string>(FLOORS);
    const folders = readdirSync(root).filter(
      (n) => !n.startsWith(".") && !["node_modules", "dist", "test", "examples"].includes(n) && statSync(join(root, n)).isDirectory() && sources(join(root, n)).length > 0,
    );
    expect(folders.filter((f) => !onFloor.has(f))).toEqual([]);
  });

  it("nothing imports upward (a floor imports only the floors below it)", () => {
    const rank = new Map<string, number>(FLOORS.map((f, i) => [f, i]));
    const upward = crossings()
      .filter((c) => (rank.get(c.to) ?? Infinity) >= (rank.get(c.from) ?? -1))
      .map((c) => `${c.file} (${c.from}) imports ${c.to}`);
    expect(upward).toEqual([]);
  });

  it("libvirt/, the ground floor, imports nothing of the project", () => {
    expect(crossings().filter((c) => c.from === "libvirt").map((c) => `${c.file} imports ${c.to}`)).toEqual([]);
  });
});
