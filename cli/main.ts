// The `bulkhead` command: the thin shell around loading, planning and
// rendering. Every outcome becomes an exit status and a message; no stack
// trace reaches the user unless BULKHEAD_DEBUG asks for it.
import { readFileSync, writeFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { planLayout, SIM_LAYOUT, type SimulatedResource } from "../components/plan";
import { LayoutError } from "../layout/errors";
import { loadLayout, loadLayoutWithLines } from "../layout/load";
import { printable } from "../layout/text";
import type { EvaluateOptions } from "../policies/evaluate";
import { providerInputIssues } from "./inputs";
import type { LayoutIssue, ResolvedLayout } from "../layout/model";
import { checkExitCode, formatCheckText, invalidReport, locate, validReport, type CheckReport, type LineOf } from "./check";
import { layoutToDot, renderSvg } from "./graph";
import { firewallTable } from "./listing";
import { formatPlan, planJson } from "./plan";
import { evaluatePolicies } from "./policies";
import { packageVersion } from "./version";

/** Exit status for an invalid layout, a usage error or a failure (layout.md). */
const EXIT_INVALID = 2;

/** A failure the user can fix (a file that cannot be written); printed without "internal error". */
class UserError extends Error {}

/** The layout, or the issues that make it unusable. */
function load(path: string): { layout: ResolvedLayout } | { issues: LayoutIssue[] } {
  try {
    return { layout: loadLayout(path) };
  } catch (error) {
    if (error instanceof LayoutError) return { issues: error.issues };
    throw error;
  }
}

/** `--policy-pack-config`: the engine's file, as evaluate's options; unreadable or invalid is a UserError. */
async function readPolicyConfig(file: string | undefined): Promise<EvaluateOptions> {
  if (file === undefined) return {};
  const { policyPackConfig, PolicyConfigError } = await import("../policies/config.js");
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new UserError(`cannot read the policy pack config ${JSON.stringify(file)}: ${why}`);
  }
  try {
    return policyPackConfig(content);
  } catch (error) {
    if (error instanceof PolicyConfigError) throw new UserError(`${file}: ${error.message}`);
    throw error;
  }
}

/** The provider's input checks as layout issues, with the line of the template or qube. */
function inputIssues(layout: ResolvedLayout, resources: SimulatedResource[], lineOf: LineOf): LayoutIssue[] {
  return providerInputIssues(resources, layout, SIM_LAYOUT).map((i) => {
    const line = lineOf(i.path.split("."));
    return line === undefined ? { path: i.path, message: i.message } : { path: i.path, line, message: i.message };
  });
}

export type CheckFormat = "text" | "json" | "sarif" | "github";

/** The layout with its line lookup (one read and one parse of the file), or its issues. */
function loadWithLines(path: string): { layout: ResolvedLayout; lineOf: LineOf } | { issues: LayoutIssue[] } {
  try {
    return loadLayoutWithLines(path);
  } catch (error) {
    if (error instanceof LayoutError) return { issues: error.issues };
    throw error;
  }
}

async function checkOne(path: string, options: EvaluateOptions): Promise<CheckReport> {
  const loaded = loadWithLines(path);
  if ("issues" in loaded) return invalidReport(path, loaded.issues);
  const { lineOf } = loaded;
  const resources = planLayout(loaded.layout);
  // What the provider would refuse at preview fails check too (exit 2).
  const refused = inputIssues(loaded.layout, resources, lineOf);
  if (refused.length > 0) return invalidReport(path, refused);
  const violations = await evaluatePolicies(resources, options);
  return validReport(path, {
    qubes: loaded.layout.qubes.length,
    resources: resources.filter((r) => r.custom).length,
    violations: locate(violations, loaded.layout, lineOf),
  });
}

async function check(paths: string[], opts: { format: CheckFormat; json?: boolean; strict?: boolean; policyPackConfig?: string }): Promise<number> {
  const format: CheckFormat = opts.json === true ? "json" : opts.format;
  const options = await readPolicyConfig(opts.policyPackConfig);
  const reports: CheckReport[] = [];
  for (const path of paths) reports.push(await checkOne(path, options));
  const code = checkExitCode(reports, opts.strict === true);
  if (format === "json") {
    // One file: the object of layout.md; several: an array of them, in the order given.
    const value = reports.length === 1 ? reports[0] : reports;
    process.stdout.write(JSON.stringify(value, null, 2) + "\n");
  } else if (format === "sarif") {
    const { toSarif } = await import("./formats.js");
    process.stdout.write(JSON.stringify(toSarif(reports, packageVersion()), null, 2) + "\n");
  } else if (format === "github") {
    const { toGithub } = await import("./formats.js");
    process.stdout.write(toGithub(reports));
    process.stderr.write(reports.map(formatCheckText).join(""));
  } else {
    for (const r of reports) (checkExitCode(r) === EXIT_INVALID ? process.stderr : process.stdout).write(formatCheckText(r));
  }
  return code;
}

/** Prints a layout's issues to stderr; the status for plan and graph. */
function reportInvalid(path: string, issues: LayoutIssue[]): number {
  const report = invalidReport(path, issues);
  process.stderr.write(formatCheckText(report));
  return EXIT_INVALID;
}

async function plan(path: string, opts: { json?: boolean }): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  const resources = planLayout(loaded.layout);
  process.stdout.write(opts.json === true ? JSON.stringify(planJson(loaded.layout, resources), null, 2) + "\n" : formatPlan(loaded.layout, resources));
  return 0;
}

async function firewall(path: string, qube: string): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  if (!loaded.layout.qubes.some((q) => q.name === qube)) {
    const names = loaded.layout.qubes.map((q) => q.name).join(", ");
    throw new UserError(`${JSON.stringify(qube)} is not a qube of ${path} (its qubes: ${names})`);
  }
  process.stdout.write(firewallTable(loaded.layout, qube));
  return 0;
}

async function schema(): Promise<number> {
  const { layoutJsonSchema } = await import("./schema.js");
  process.stdout.write(JSON.stringify(layoutJsonSchema(), null, 2) + "\n");
  return 0;
}

async function graph(path: string, opts: { output?: string; format: "svg" | "dot" }): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  const dot = layoutToDot(loaded.layout);
  const text = opts.format === "dot" ? dot : await renderSvg(dot);
  if (opts.output === undefined) {
    process.stdout.write(text);
  } else {
    try {
      writeFileSync(opts.output, text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "write failed";
      throw new UserError(`cannot write ${JSON.stringify(opts.output)}: ${code}`);
    }
  }
  return 0;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

/** Runs a command's body; any throw becomes one line on stderr and status 2. */
function guarded<A extends unknown[]>(name: string, body: (...args: A) => Promise<number>) {
  return async (...args: A): Promise<void> => {
    try {
      process.exitCode = await body(...args);
    } catch (error) {
      process.exitCode = EXIT_INVALID;
      const message = error instanceof Error ? error.message : String(error);
      const firstLine = printable(message.split("\n")[0]);
      if (error instanceof UserError) {
        process.stderr.write(`bulkhead ${name}: ${firstLine}\n`);
        return;
      }
      process.stderr.write(
        `bulkhead ${name}: internal error: ${firstLine} (a bug in bulkhead; rerun with BULKHEAD_DEBUG=1 for details)\n`,
      );
      if (process.env.BULKHEAD_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ""}\n`);
    }
  };
}

export function buildProgram(): Command {
  const program = new Command("bulkhead")
    .description("Qubes-style compartmentalisation on libvirt hosts, declared as a layout")
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError("(run bulkhead --help for usage)")
    .exitOverride();

  program
    .command("check")
    .description("validate a layout offline and apply the isolation policies (exit 0 ok, 1 violation, 2 invalid)")
    .argument("<layouts...>", "layout YAML files")
    .addOption(new Option("--format <format>", "output: text, json (layout.md), sarif (2.1.0, code scanning) or github (Actions annotations)").choices(["text", "json", "sarif", "github"]).default("text"))
    .option("--json", "the same as --format json")
    .option("--strict", "fail (exit 1) on advisory violations too")
    .option("--policy-pack-config <file>", "policy levels and configuration, the engine's --policy-pack-config file (JSON)")
    .action(
      guarded("check", (paths: string[], opts: { format: CheckFormat; json?: boolean; strict?: boolean; policyPackConfig?: string }) => check(paths, opts)),
    );

  program
    .command("plan")
    .description("show the qubes a layout declares and the libvirt objects it would create")
    .argument("<layout>", "layout YAML file")
    .option("--json", "print one JSON object: the resolved qubes and every libvirt resource with its inputs")
    .action(guarded("plan", (path: string, opts: { json?: boolean }) => plan(path, opts)));

  program
    .command("firewall")
    .description("list one qube's firewall rules as `qvm-firewall <qube> list` does")
    .argument("<layout>", "layout YAML file")
    .argument("<qube>", "the qube")
    .action(guarded("firewall", (path: string, qube: string) => firewall(path, qube)));

  program
    .command("ls")
    .description("list the bulkhead qubes on a live libvirt host as qvm-ls does (NAME STATE CLASS LABEL TEMPLATE NETVM)")
    .option("--uri <uri>", "libvirt connection URI", "qemu:///system")
    .option("--prefix <prefix>", "only domains whose libvirt name starts with this (a layout's host.prefix)")
    .action(
      guarded("ls", async (opts: { uri: string; prefix?: string }) => {
        const { runLs } = await import("./audit.js");
        return runLs(opts);
      }),
    );

  program
    .command("schema")
    .description("print the layout format's JSON Schema (from the zod schema), for editors")
    .action(guarded("schema", () => schema()));

  program
    .command("graph")
    .description("draw the layout: qubes, templates, network and devices")
    .argument("<layout>", "layout YAML file")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .addOption(new Option("--format <format>", "output format").choices(["svg", "dot"]).default("svg"))
    .action(guarded("graph", (path: string, opts: { output?: string; format: "svg" | "dot" }) => graph(path, opts)));

  program
    .command("audit")
    .description("apply the isolation policies to the bulkhead objects on a live libvirt host (exit 0 ok, 1 violation, 2 unreachable)")
    .option("--uri <uri>", "libvirt connection URI", "qemu:///system")
    .option("--json", "print one JSON object instead of text")
    .option("--prefix <prefix>", "only domains whose libvirt name starts with this (a layout's host.prefix)")
    .option("--host-memory <MiB>", "MiB the host can give to qubes (enables the memory-budget policy)", positiveInt)
    .option("--policy-pack-config <file>", "policy levels and configuration, the engine's --policy-pack-config file (JSON)")
    .action(
      guarded("audit", async (opts: { uri: string; json?: boolean; prefix?: string; hostMemory?: number; policyPackConfig?: string }) => {
        const evaluation = await readPolicyConfig(opts.policyPackConfig);
        // Loaded on use, like the policies: the other commands need none of it.
        const { runAudit } = await import("./audit.js");
        return runAudit({ uri: opts.uri, json: opts.json, prefix: opts.prefix, hostMemoryMiB: opts.hostMemory, evaluation });
      }),
    );

  program
    .command("prove")
    .description("prove the isolation on a deployed stack with packets: expected vs observed flows (exit 0 proved, 1 a difference, 2 error)")
    .option("--stack <stack>", "the stack whose layout and host to prove", "dev")
    .option("--layout <file>", "layout file (instead of the stack's)")
    .option("--uri <uri>", "libvirt connection URI (default: the stack's, else the layout's host.uri)")
    .option("--json", "print one JSON object instead of the table")
    .option("-o, --output <file>", "also draw the from/to matrix (SVG; with --expected, the expected one)")
    .option("--expected", "only print the expected matrix (offline)")
    .option("--deadline <seconds>", "seconds each probe retries before it counts as blocked", positiveInt)
    .option("--parallel <n>", "qubes booting at once", positiveInt)
    .option("--only <qubes>", "prove only the flows from these comma-separated qubes (no storage checks)", (v: string) => v.split(",").filter((x) => x !== ""))
    .action(
      guarded("prove", async (opts: { stack: string; layout?: string; uri?: string; json?: boolean; output?: string; expected?: boolean; deadline?: number; parallel?: number; only?: string[] }) => {
        const { runProve, ProveError } = await import("./prove.js");
        try {
          return await runProve(opts);
        } catch (error) {
          if (error instanceof ProveError) throw new UserError(error.message);
          throw error;
        }
      }),
    );

  // Subcommands inherit exitOverride only when set before they are added.
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/**
 * A reader that closes the pipe early (`bulkhead graph x | head`) is not an error: what is left
 * to print is dropped and the command finishes (prove still restores the seeds it changed).
 */
export function survivePipeClose(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stream.write = (() => true) as typeof stream.write;
  });
}

export async function main(argv: string[]): Promise<void> {
  survivePipeClose(process.stdout);
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    // Commander has printed its message; help and version exit 0, usage errors 2
    // (1 means "a mandatory violation" for check).
    process.exitCode = error instanceof CommanderError && error.exitCode === 0 ? 0 : EXIT_INVALID;
  }
}

if (require.main === module) void main(process.argv);
