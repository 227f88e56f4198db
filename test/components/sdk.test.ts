// The program and the components take the SDK's values from its own modules
// (components/sdk.ts): `@pulumi/pulumi`'s index would also load the automation
// API and closure serialisation (npm's arborist, sigstore) at every program start.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = join(__dirname, "..", "..");

/** The SDK modules a fresh node process holds after requiring `modules`. */
function sdkModulesLoaded(modules: string[]): string[] {
  const script = `${modules.map((m) => `require(${JSON.stringify(m)});`).join("")}
const root = require("node:path").dirname(require.resolve("@pulumi/pulumi/package.json"));
console.log(JSON.stringify(Object.keys(require.cache).filter((k) => k.startsWith(root)).map((k) => k.slice(root.length + 1))));`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: REPO, encoding: "utf8" })) as string[];
}

describe("the program's SDK imports", () => {
  it("loading the program's modules never loads the SDK's index, automation API or closure serialiser", () => {
    const loaded = sdkModulesLoaded([join(REPO, "dist/components/layout.js"), join(REPO, "dist/components/library.js"), join(REPO, "dist/layout/load.js")]);
    expect(loaded).toContain("resource.js");
    expect(loaded.filter((m) => m === "index.js" || m.startsWith("automation/") || m.startsWith("runtime/closure/"))).toEqual([]);
  });

  it("the check is able to fail: requiring the SDK's index loads them", () => {
    const loaded = sdkModulesLoaded(["@pulumi/pulumi"]);
    expect(loaded.filter((m) => m === "index.js" || m === "automation/index.js")).toEqual(["index.js", "automation/index.js"]);
  });
});
