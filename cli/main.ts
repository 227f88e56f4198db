// The `bulkhead` command: only the wiring of commander to the commands, one file
// each (check.ts, plan.ts, firewall.ts, ls.ts, schema.ts, graph.ts, audit.ts,
// prove.ts; shared helpers in command.ts). Every outcome becomes an exit status and a
// message; no stack trace reaches the user unless BULKHEAD_DEBUG asks for it.
import { Command, CommanderError, Option } from "commander";
import { runCheck, type CheckFormat } from "./check";
import { EXIT_INVALID, guarded, positiveInt, readPolicyConfig, UserError } from "./command";
import { runFirewall } from "./firewall";
import { runGraph } from "./graph";
import { runPlan } from "./plan";
import { packageVersion } from "./version";

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
      guarded("check", (paths: string[], opts: { format: CheckFormat; json?: boolean; strict?: boolean; policyPackConfig?: string }) => runCheck(paths, opts)),
    );

  program
    .command("plan")
    .description("show the qubes a layout declares and the libvirt objects it would create")
    .argument("<layout>", "layout YAML file")
    .option("--json", "print one JSON object: the resolved qubes and every libvirt resource with its inputs")
    .action(guarded("plan", (path: string, opts: { json?: boolean }) => runPlan(path, opts)));

  program
    .command("firewall")
    .description("list one qube's firewall rules as `qvm-firewall <qube> list` does")
    .argument("<layout>", "layout YAML file")
    .argument("<qube>", "the qube")
    .action(guarded("firewall", (path: string, qube: string) => runFirewall(path, qube)));

  program
    .command("ls")
    .description("list the bulkhead qubes on a live libvirt host as qvm-ls does (NAME STATE CLASS LABEL TEMPLATE NETVM)")
    .option("--uri <uri>", "libvirt connection URI", "qemu:///system")
    .option("--prefix <prefix>", "only domains whose libvirt name starts with this (a layout's host.prefix)")
    .action(
      guarded("ls", async (opts: { uri: string; prefix?: string }) => {
        const { runLs } = await import("./ls.js");
        return runLs(opts);
      }),
    );

  program
    .command("schema")
    .description("print the layout format's JSON Schema (from the zod schema), for editors")
    .action(guarded("schema", async () => (await import("./schema.js")).runSchema()));

  program
    .command("graph")
    .description("draw the layout: qubes, templates, network and devices")
    .argument("<layout>", "layout YAML file")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .addOption(new Option("--format <format>", "output format").choices(["svg", "dot"]).default("svg"))
    .action(guarded("graph", (path: string, opts: { output?: string; format: "svg" | "dot" }) => runGraph(path, opts)));

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
