// The version printed by `bulkhead --version`: the package's own, read at run
// time because package.json sits outside the compiled tree (dist/cli/ -> ../../).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function packageVersion(): string {
  // From the source tree (cli/) the file is one level up; from dist/cli/ two.
  for (let dir = __dirname, i = 0; i < 3; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "bulkhead" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // Not here; look one level up.
    }
  }
  return "unknown";
}
