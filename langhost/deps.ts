// What a Node program depends on, read from its package.json and the installed packages.
// The engine asks for plugins to download before a run; bulkhead's programs bring their
// providers along, so only packages that declare `"pulumi": { "resource": true }` count.
import * as fs from "node:fs";
import * as path from "node:path";

export interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  pulumi?: { resource?: boolean; name?: string; version?: string; server?: string };
}

export interface RequiredPlugin {
  name: string;
  kind: "resource";
  version: string;
  server: string;
}

export interface Dependency {
  name: string;
  version: string;
}

function readJson(file: string): PackageJson | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined; // absent: the caller reports nothing rather than failing the run
  }
  return JSON.parse(text) as PackageJson;
}

/** The nearest package.json at or above dir (a program may live in a sub-folder of its package). */
export function findPackageJson(dir: string): string | undefined {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

function installed(name: string, fromDir: string): PackageJson | undefined {
  let file: string;
  try {
    file = require.resolve(`${name}/package.json`, { paths: [fromDir] });
  } catch {
    return undefined; // not installed, or its "exports" hide package.json
  }
  return readJson(file);
}

function declared(programDir: string, withDev: boolean): { names: string[]; root: string } | undefined {
  const file = findPackageJson(programDir);
  if (file === undefined) return undefined;
  const pkg = readJson(file) ?? {};
  const names = Object.keys(pkg.dependencies ?? {});
  if (withDev) names.push(...Object.keys(pkg.devDependencies ?? {}));
  return { names: [...new Set(names)].sort(), root: path.dirname(file) };
}

export function requiredPlugins(programDir: string): RequiredPlugin[] {
  const deps = declared(programDir, false);
  if (deps === undefined) return [];
  const out: RequiredPlugin[] = [];
  for (const name of deps.names) {
    const pkg = installed(name, deps.root);
    const meta = pkg?.pulumi;
    if (pkg === undefined || meta?.resource !== true) continue;
    out.push({
      name: meta.name ?? name.replace(/^@pulumi\//, ""),
      kind: "resource",
      version: meta.version ?? pkg.version ?? "",
      server: meta.server ?? "",
    });
  }
  return out;
}

/** Direct dependencies with their installed versions (`pulumi about` shows these). */
export function programDependencies(programDir: string): Dependency[] {
  const deps = declared(programDir, true);
  if (deps === undefined) return [];
  return deps.names.map((name) => ({ name, version: installed(name, deps.root)?.version ?? "" }));
}
