// The Pulumi program: one layout file -> one Layout component on one libvirt host.
// Pulumi.yaml runs it compiled (dist/index.js, `npm run build`), not through ts-node,
// which type-checked the whole program again after every edit (3.7 s of CPU at 200 qubes).
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "./components/sdk";
import * as sdkLog from "@pulumi/pulumi/log";
import { Layout } from "./components/layout";
import { loadLayoutForDeploy } from "./layout/load";

refuseStaleBuild();

// The SDK captures a stack trace for every promise it makes, formatted through
// source maps, and reads it only for its promise-leak report: measured at 50
// qubes that was a quarter of the program's CPU time (bench/notes.md). It also
// records the whole stack of every resource's constructor and sends it with the
// registration, for the state to keep (a fifth of the state at 200 qubes).
// Layout errors carry their own messages; BULKHEAD_STACK_TRACES=1 brings both back.
if (process.env["BULKHEAD_STACK_TRACES"] !== "1") {
  Error.stackTraceLimit = 0;
  // A private static of the pinned SDK (test/program.test.ts checks it is there).
  const resource = pulumi.Resource as unknown as { stackTrace?: unknown };
  if (typeof resource.stackTrace === "function") resource.stackTrace = () => [];
}

// The SDK sends the engine three or four debug messages per resource
// ("Registering resource …", "RegisterResource RPC prepared …"), one gRPC call
// each, one after the other: 3,500 calls at 200 qubes, a quarter of the
// program's CPU, shown only by `pulumi up --debug`. BULKHEAD_SDK_DEBUG=1 sends them.
if (process.env["BULKHEAD_SDK_DEBUG"] !== "1") Object.assign(sdkLog, { debug: () => Promise.resolve() });

const config = new pulumi.Config("bulkhead");
// Pulumi.yaml declares both keys with default "", which means "not set".
const layoutPath = config.get("layout") || `stacks/${pulumi.getStack()}.yaml`;
// Asynchronous only for the DNS names in firewall rules, resolved once per run (layout/hostnames.ts).
const machine = loadLayoutForDeploy(layoutPath).then(
  (resolved) => new Layout("bulkhead", { layout: resolved, uri: config.get("uri") || undefined }),
);

/** Per qube and template: libvirt name, uuid, class, netvm, address, MAC, template, label, autostart. */
export const qubes = pulumi.output(machine.then((m) => m.qubes));
/** The layout file this stack was deployed from. */
export const layout = layoutPath;

/**
 * Refuses to deploy a build older than its sources: every module this run
 * loaded from dist/ is compared with the .ts file it was compiled from.
 * Run from the sources (no dist/ above this file), there is nothing to compare.
 */
function refuseStaleBuild(): void {
  if (path.basename(__dirname) !== "dist") return;
  const root = path.dirname(__dirname);
  const stale: string[] = [];
  for (const file of Object.keys(require.cache)) {
    if (!file.startsWith(__dirname + path.sep) || !file.endsWith(".js")) continue;
    const source = path.join(root, path.relative(__dirname, file)).replace(/\.js$/, ".ts");
    let sourceTime: number;
    try {
      sourceTime = fs.statSync(source).mtimeMs;
    } catch {
      continue; // a build shipped without its sources
    }
    if (sourceTime > fs.statSync(file).mtimeMs) stale.push(path.relative(root, source));
  }
  if (stale.length > 0) {
    throw new pulumi.RunError(
      `the compiled program in dist/ is older than ${stale.sort().join(", ")}: run \`npm run build\` and try again`,
    );
  }
}
