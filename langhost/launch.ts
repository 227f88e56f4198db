// Pure planning: which `node` command the language host starts for a program or a plugin.
// Kept free of gRPC so that tests can check the exact argv and environment.
import * as path from "node:path";

/** What the engine tells us about a program or plugin (pulumirpc.ProgramInfo). */
export interface ProgramInfo {
  rootDirectory: string;
  programDirectory: string;
  /** A file name inside programDirectory, or "." for "whatever package.json says". */
  entryPoint: string;
  /** Pulumi.yaml `runtime.options`. */
  options: Record<string, unknown>;
}

export interface RuntimeOptions {
  typescript: boolean;
  tsconfig: string | undefined;
  nodeargs: string[];
}

/** A process to start: never a shell string, always an argv. */
export interface Launch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Finds a module the way the program itself would (its own node_modules first). */
export type Resolve = (request: string, fromDirectory: string) => string;

export const resolveFrom: Resolve = (request, fromDirectory) =>
  require.resolve(request, { paths: [fromDirectory] });

/** Exit code of @pulumi/pulumi's runners meaning "the error was already shown to the user". */
export const EXIT_ALREADY_REPORTED = 32;

// Pulumi's own host treats TypeScript as on unless the project says `typescript: false`,
// so a project that omits the option behaves the same under either host.
export function runtimeOptions(options: Record<string, unknown>): RuntimeOptions {
  const ts = options["typescript"];
  const tsconfig = options["tsconfig"];
  const nodeargs = options["nodeargs"];
  return {
    typescript: !(ts === false || ts === "false"),
    tsconfig: typeof tsconfig === "string" && tsconfig !== "" ? tsconfig : undefined,
    nodeargs: typeof nodeargs === "string" ? nodeargs.split(/\s+/).filter((a) => a !== "") : [],
  };
}

export interface RunInput {
  monitorAddress: string;
  engineAddress: string;
  organization: string;
  project: string;
  stack: string;
  pwd: string;
  dryRun: boolean;
  parallel: number;
  tracing: string | undefined;
  info: ProgramInfo;
  args: string[];
  config: Record<string, string>;
  configSecretKeys: string[];
}

function withoutUndefined(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** `node <@pulumi/pulumi/cmd/run> --monitor … <entry> …args` as @pulumi/pulumi's runner parses it. */
export function planRun(
  input: RunInput,
  baseEnv: NodeJS.ProcessEnv,
  nodePath: string,
  resolve: Resolve = resolveFrom,
): Launch {
  const opts = runtimeOptions(input.info.options);
  const runner = resolve("@pulumi/pulumi/cmd/run", input.info.programDirectory);
  const flags: string[] = [];
  const flag = (name: string, value: string | undefined): void => {
    // The runner's parser takes "--x v"; an empty value would swallow the next argument.
    if (value !== undefined && value !== "") flags.push(`--${name}`, value);
  };
  flag("monitor", input.monitorAddress);
  flag("engine", input.engineAddress);
  flag("organization", input.organization);
  flag("project", input.project);
  flag("root-directory", input.info.rootDirectory);
  flag("stack", input.stack);
  flag("pwd", input.pwd);
  if (input.dryRun) flags.push("--dry-run");
  flag("parallel", String(input.parallel));
  flag("tracing", input.tracing);

  const env = withoutUndefined(baseEnv);
  env["PULUMI_CONFIG"] = JSON.stringify(input.config);
  env["PULUMI_CONFIG_SECRET_KEYS"] = JSON.stringify(input.configSecretKeys);
  // The runner reads these two from the environment, not from flags.
  if (opts.typescript) env["PULUMI_NODEJS_TYPESCRIPT"] = "true";
  else delete env["PULUMI_NODEJS_TYPESCRIPT"];
  if (opts.tsconfig !== undefined) env["PULUMI_NODEJS_TSCONFIG_PATH"] = opts.tsconfig;

  return {
    file: nodePath,
    args: [...opts.nodeargs, runner, ...flags, input.info.entryPoint, ...input.args],
    cwd: input.pwd !== "" ? input.pwd : input.info.programDirectory,
    env,
  };
}

/** How a program run ended, in RunResponse terms. */
export function runOutcome(code: number | null, signal: NodeJS.Signals | null): { error: string; bail: boolean } {
  if (code === 0) return { error: "", bail: false };
  if (code === EXIT_ALREADY_REPORTED) return { error: "", bail: true };
  if (code !== null) return { error: `Program exited with non-zero exit code: ${code}`, bail: false };
  return { error: `Program was terminated by signal ${signal ?? "unknown"}`, bail: false };
}

/**
 * The engine prefixes plugin arguments with its own logging flags (`--logtostderr`, `-v=N`,
 * `--tracing URL`). @pulumi/pulumi's plugin runners parse flags without a schema, so
 * `--logtostderr <engine address>` would eat the address: hand them only the positionals.
 */
export function pluginPositionals(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--tracing") {
      i++;
    } else if (!a.startsWith("-")) {
      out.push(a);
    }
  }
  return out;
}

/** "K=V" entries (what the engine sends) to an environment object; the first '=' splits. */
export function envFromList(list: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of list) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export interface PluginInput {
  /** "analyzer" for a policy pack, "resource"/"converter"/"tool" for PulumiPlugin.yaml plugins. */
  kind: string;
  info: ProgramInfo;
  args: string[];
  env: string[];
}

/**
 * A policy pack runs under @pulumi/pulumi/cmd/run-policy-pack (`<engine> <pack dir>`), other
 * plugins under cmd/run-plugin (`<plugin dir> …args`). Both are resolved from the plugin's own
 * directory and run there: the pack reads ./package.json and ./tsconfig.json from its cwd.
 * Both runners always load TypeScript through ts-node, so no PULUMI_NODEJS_* variables apply.
 */
export function planPlugin(
  input: PluginInput,
  baseEnv: NodeJS.ProcessEnv,
  nodePath: string,
  resolve: Resolve = resolveFrom,
): Launch {
  const dir = input.info.programDirectory;
  const opts = runtimeOptions(input.info.options);
  const positionals = pluginPositionals(input.args);
  const env = input.env.length > 0 ? envFromList(input.env) : withoutUndefined(baseEnv);
  if (input.kind === "analyzer") {
    const engine = positionals[positionals.length - 1];
    if (engine === undefined) throw new Error("the engine gave a policy pack no engine address");
    const runner = resolve("@pulumi/pulumi/cmd/run-policy-pack", dir);
    return { file: nodePath, args: [...opts.nodeargs, runner, engine, dir], cwd: dir, env };
  }
  const runner = resolve("@pulumi/pulumi/cmd/run-plugin", dir);
  const program = input.info.entryPoint === "." ? dir : path.join(dir, input.info.entryPoint);
  return { file: nodePath, args: [...opts.nodeargs, runner, program, ...positionals], cwd: dir, env };
}
