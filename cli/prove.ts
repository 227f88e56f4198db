// `bulkhead prove [--stack S] [--json] [-o prove.svg]`: the isolation a layout
// promises, shown with packets on the deployed stack. The stack's layout and
// URI come from its stack file (stacks/Pulumi.<S>.yaml), read directly so no
// engine is needed. Exit 0 proved, 1 a difference, 2 unusable input or host.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { LayoutError } from "../layout/errors";
import { loadLayoutForDeploy } from "../layout/load";
import type { ResolvedLayout } from "../layout/model";
import { usesStockImage } from "../lab/lab";
import { expectedFlows, labWorld, type World } from "../prove/expected";
import { prove } from "../prove/observe";
import { formatReport, matrix } from "../prove/report";
import { renderSvg } from "../render/graph";
import { matrixDot } from "../prove/picture";

export interface ProveOptions {
  stack: string;
  layout?: string;
  uri?: string;
  json?: boolean;
  output?: string;
  /** Print the expected matrix only (offline, no host). */
  expected?: boolean;
  deadline?: number;
  parallel?: number;
  /** Sources to prove (default: all). */
  only?: string[];
  /** Repository root the stack files are found under (default: the working directory). */
  root?: string;
}

export class ProveError extends Error {}

/** The layout path and URI of a stack: its `bulkhead:layout`/`bulkhead:uri` config, else stacks/<stack>.yaml and host.uri. */
export function stackTarget(root: string, stack: string): { layout: string; uri?: string } {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new ProveError(`not a stack name: ${JSON.stringify(stack)}`);
  const file = resolve(root, "stacks", `Pulumi.${stack}.yaml`);
  let config: Record<string, unknown> = {};
  if (existsSync(file)) {
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    config = doc?.config ?? {};
  }
  const layout = typeof config["bulkhead:layout"] === "string" && config["bulkhead:layout"] !== "" ? config["bulkhead:layout"] : `stacks/${stack}.yaml`;
  const uri = typeof config["bulkhead:uri"] === "string" && config["bulkhead:uri"] !== "" ? config["bulkhead:uri"] : undefined;
  return uri === undefined ? { layout: resolve(root, layout) } : { layout: resolve(root, layout), uri };
}

/** As the deploy loads it: dsthost names resolved (to what they give now; the filter holds what they gave at the last `up`). */
async function load(path: string): Promise<ResolvedLayout> {
  try {
    return await loadLayoutForDeploy(path);
  } catch (error) {
    if (error instanceof LayoutError) throw new ProveError(`${path} is not a valid layout (run bulkhead check ${path})`);
    throw error;
  }
}

/** The lab's world for a layout: qubes on the lab's stock Debian image serve what it serves (sshd). */
export function worldFor(layout: ResolvedLayout): World {
  return labWorld(layout, new Set(layout.templates.filter((t) => usesStockImage([t])).map((t) => t.name)));
}

export async function runProve(opts: ProveOptions): Promise<number> {
  const root = opts.root ?? process.cwd();
  const target = opts.layout !== undefined ? { layout: resolve(root, opts.layout), uri: opts.uri } : stackTarget(root, opts.stack);
  const layout = await load(target.layout);
  if (opts.expected === true) {
    const flows = expectedFlows(layout, worldFor(layout));
    process.stdout.write(opts.json === true ? `${JSON.stringify({ layout: layout.source, flows }, null, 2)}\n` : `${matrix(layout, flows, false)}\n`);
    if (opts.output !== undefined) await writePicture(opts.output, matrixDot(layout, flows, false));
    return 0;
  }
  const unknown = (opts.only ?? []).filter((n) => !layout.qubes.some((q) => q.name === n) && !layout.templates.some((t) => t.name === n));
  if (unknown.length > 0) throw new ProveError(`--only: not a qube of ${layout.source}: ${unknown.join(", ")}`);
  const report = await prove(layout, {
    uri: opts.uri ?? target.uri ?? layout.host.uri,
    world: worldFor(layout),
    ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.only !== undefined ? { only: opts.only } : {}),
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stdout.write(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(layout, report));
  if (opts.output !== undefined) await writePicture(opts.output, matrixDot(layout, report.flows, true));
  return report.ok ? 0 : 1;
}

async function writePicture(file: string, dot: string): Promise<void> {
  const svg = await renderSvg(dot);
  try {
    writeFileSync(file, svg);
  } catch (error) {
    throw new ProveError(`cannot write ${JSON.stringify(file)}: ${(error as NodeJS.ErrnoException).code ?? "write failed"}`);
  }
}
