// What every `bulkhead` command shares: the exit status of an invalid layout, the
// error a user can fix, loading a layout into its issues, the policy pack config,
// and `guarded`, which turns any outcome into an exit status and one line.
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "commander";
import { LayoutError } from "../layout/errors";
import { loadLayout } from "../layout/load";
import type { LayoutIssue, ResolvedLayout } from "../layout/model";
import { printable } from "../layout/text";
import type { EvaluateOptions } from "../policies/evaluate";

/** Exit status for an invalid layout, a usage error or a failure (layout.md). */
export const EXIT_INVALID = 2;

/** A failure the user can fix (a file that cannot be written); printed without "internal error". */
export class UserError extends Error {}

/** The layout, or the issues that make it unusable. */
export function load(path: string): { layout: ResolvedLayout } | { issues: LayoutIssue[] } {
  try {
    return { layout: loadLayout(path) };
  } catch (error) {
    if (error instanceof LayoutError) return { issues: error.issues };
    throw error;
  }
}

/** `--policy-pack-config`: the engine's file, as evaluate's options; unreadable or invalid is a UserError. */
export async function readPolicyConfig(file: string | undefined): Promise<EvaluateOptions> {
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

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

/** Runs a command's body; any throw becomes one line on stderr and status 2. */
export function guarded<A extends unknown[]>(name: string, body: (...args: A) => Promise<number>) {
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
