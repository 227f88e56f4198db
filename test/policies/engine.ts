// Shared by the engine tests of the policy pack: a project directory outside the
// repository, a local-backend environment with the pinned engine, fresh stacks
// and previews read from the engine's streaming JSON events.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import YAML from "yaml";
import { runCaptured, type Result } from "../helpers/spawn";

export const repo = path.resolve(__dirname, "..", "..");
export const corpus = path.join(repo, "test", "fixtures", "violations");
const cli = path.join(repo, "dist", "cli", "main.js");
/** Nothing listens on port 1: a provider that tried to reach libvirt would fail the preview. */
export const NOWHERE = "qemu+tls://127.0.0.1:1/system";

export function engineCache(): string {
  const goMod = fs.readFileSync(path.join(repo, "engine", "go.mod"), "utf8");
  const m = /github\.com\/pulumi\/pulumi\/pkg\/v3 (v\S+)/.exec(goMod);
  if (m === null) throw new Error("engine/go.mod pins no github.com/pulumi/pulumi/pkg/v3");
  const base = process.env["BULKHEAD_CACHE"] ?? path.join(os.homedir(), ".cache", "bulkhead");
  return path.join(base, `engine-${m[1]}`);
}

/** Why the engine tests cannot run; building the CLI takes minutes, so they only use a cached one. */
export function skipReason(): string | undefined {
  return fs.existsSync(path.join(engineCache(), "pulumi")) ? undefined : `no Pulumi CLI in ${engineCache()}: run scripts/engine.sh first`;
}


interface PolicyEvent {
  policyName: string;
  enforcementLevel: string;
  resourceUrn?: string;
  message: string;
}
interface PolicySummary {
  passed?: string[];
  failed?: string[];
}
interface EngineEvent {
  policyEvent?: PolicyEvent;
  policyAnalyzeSummaryEvent?: PolicySummary;
  policyAnalyzeStackSummaryEvent?: PolicySummary;
  diagnosticEvent?: { severity: string; message: string };
}

/** The temp dir of the current test file (project/, state/, home/) and the engine's environment. */
let work = "";
let env: Record<string, string> = {};

/** Makes the temp project and the environment; returns the temp dir (remove it in afterAll). */
export async function setUpEngine(): Promise<string> {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-policy-engine-"));
  makeProject(project());
  env = await engineEnv(work);
  return work;
}

function run(file: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Result> {
  return runCaptured(file, args, cwd, { ...env, ...extraEnv });
}

const project = (): string => path.join(work, "project");
const pulumi = (...args: string[]): Promise<Result> => run("pulumi", [...args, "--non-interactive"], project());

/** Like `pulumi config set`, failing loudly: a stack without its layout would preview stacks/<stack>.yaml. */
async function setConfig(stack: string, key: string, value: string): Promise<void> {
  const r = await pulumi("config", "set", "--stack", stack, key, value);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
}

export interface Verdict {
  policy: string;
  level: string;
  qube: string;
}

/** A policy event's qube: its message is the policy's description, then the finding (`<qube>: …`). */
export function verdictOf(e: PolicyEvent): Verdict {
  const finding = e.message.trimEnd().split("\n").pop() ?? "";
  const qube = /^([a-z][a-z0-9-]*): /.exec(finding)?.[1] ?? "?";
  return { policy: e.policyName, level: e.enforcementLevel, qube };
}

export const key = (v: Verdict): string => `${v.level} ${v.policy} ${v.qube}`;

export interface Preview {
  code: number | null;
  /** `level policy qube` per policy event, sorted. */
  verdicts: string[];
  /** Policies the engine ran (passed or failed on some resource or the stack), sorted. */
  ran: string[];
  errors: string[];
}

/** Policy verdicts and error diagnostics of a preview, with streaming JSON events (the engine's own). */
export async function preview(stack: string, ...args: string[]): Promise<Preview> {
  const r = await run(
    "pulumi",
    ["preview", "--stack", stack, "--json", "--non-interactive", "--policy-pack", path.join(repo, "policies"), ...args],
    project(),
    { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" },
  );
  const events = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EngineEvent);
  return {
    code: r.code,
    verdicts: events.flatMap((e) => (e.policyEvent ? [key(verdictOf(e.policyEvent))] : [])).sort(),
    ran: [
      ...new Set(
        events.flatMap((e) =>
          [e.policyAnalyzeSummaryEvent, e.policyAnalyzeStackSummaryEvent].flatMap((x) => [...(x?.passed ?? []), ...(x?.failed ?? [])]),
        ),
      ),
    ].sort(),
    errors: events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message] : [])),
  };
}

export async function check(file: string): Promise<{ code: number; verdicts: string[] }> {
  let stdout: string;
  let code = 0;
  try {
    stdout = (await promisify(execFile)(process.execPath, [cli, "check", "--json", file], { cwd: repo })).stdout;
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string };
    if (typeof e.code !== "number") throw error;
    code = e.code;
    stdout = e.stdout ?? "";
  }
  const report = JSON.parse(stdout) as { violations: Verdict[] };
  return { code, verdicts: report.violations.map(key).sort() };
}

/**
 * A fresh stack named `stack` previewing `layout`; returns the preview arguments (none: the pack
 * reads the layout's `host.memory` from the program's Layout component, as check does).
 */
export async function newStack(stack: string, layout: string): Promise<string[]> {
  const init = await pulumi("stack", "init", stack);
  expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: `Created stack '${stack}'\n` });
  await setConfig(stack, "bulkhead:layout", layout);
  await setConfig(stack, "bulkhead:uri", NOWHERE);
  return policyArgs(`${stack}.policy.json`, layout);
}

/**
 * `--policy-pack-config` arguments for `config` (a level string or an object per policy); none
 * when it is empty. The layout's `host.memory` is not passed: the pack must find it itself.
 */
export function policyArgs(name: string, _layout: string, config: Record<string, unknown> = {}): string[] {
  const all: Record<string, unknown> = {};
  for (const [policy, value] of Object.entries(config)) {
    const base = (all[policy] ?? {}) as Record<string, unknown>;
    all[policy] = typeof value === "string" ? { ...base, enforcementLevel: value } : { ...base, ...(value as object) };
  }
  if (Object.keys(all).length === 0) return [];
  return ["--policy-pack-config", writePolicyConfig(name, all)];
}

/** Writes a `--policy-pack-config` file into the temp dir and returns its path. */
export function writePolicyConfig(name: string, config: Record<string, unknown>): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * A project directory outside the repository, so stack files land in the temp dir and not in
 * stacks/: the repo's Pulumi.yaml without stackConfigDir, its plugin path made absolute, and
 * the program (compiled in dist/) and its packages linked in (Node follows the links back to the repo).
 */
export function makeProject(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const doc = YAML.parse(fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8")) as {
    stackConfigDir?: string;
    plugins?: { providers?: { path: string }[] };
  };
  delete doc.stackConfigDir;
  for (const p of doc.plugins?.providers ?? []) p.path = path.resolve(repo, p.path);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), YAML.stringify(doc));
  for (const f of ["dist", "package.json", "tsconfig.json", "node_modules"]) {
    fs.symlinkSync(path.join(repo, f), path.join(dir, f));
  }
}

/** The environment of a local-backend run with the engine first on PATH (as test/langhost/langhost.test.ts). */
export async function engineEnv(dir: string): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(path.join(repo, "scripts", "engine.sh"), []);
  const out = Object.fromEntries(
    Object.entries(process.env).filter((kv): kv is [string, string] => kv[1] !== undefined && !kv[0].startsWith("PULUMI_")),
  );
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  return Object.assign(out, {
    PATH: `${stdout.trim()}${path.delimiter}${process.env["PATH"] ?? ""}`,
    PULUMI_HOME: path.join(dir, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "parity",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  });
}


