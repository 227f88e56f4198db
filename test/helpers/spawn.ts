// Runs a program with an argument array and collects its exit code and output
// (the engine tests' way of calling `pulumi` and the language host).
import { spawn } from "node:child_process";

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCaptured(file: string, args: readonly string[], cwd: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
