// Writes the examples in the docs from the commands that produce them, so the docs
// cannot drift from the code. A block is
//
//   <!-- generated: bulkhead check --json stacks/dev.yaml -->
//   ...replaced...
//   <!-- end -->
//
// `bulkhead …` runs the compiled CLI (argument array, no shell) from the repository
// root and fences what it prints (stdout, then stderr); `policy <name>` writes the
// rule's metadata line. `node dist/scripts/docs.js` rewrites the files,
// `--check` only says which differ (exit 1); test/scripts/docs.test.ts runs the check.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ExecError, execResultSync } from "../libvirt/exec";
import { policyUrl } from "../policies/rule";
import { rules } from "../policies/ruleset";

export const DOCS = ["README.md", "docs/layout.md", "policies/README.md"];

const BLOCK = /(<!-- generated: ([^\n]*?) -->\n)([\s\S]*?)(<!-- end -->)/g;

function runCli(root: string, args: string[]): string {
  const cli = join(root, "dist", "cli", "main.js");
  const r = execResultSync(process.execPath, [cli, ...args], { cwd: root, timeoutMs: 0 });
  if (r.ok) return r.stdout;
  // A failing verdict (exit 1 or 2) is an example too: keep what it printed.
  if (typeof r.code !== "number") throw new ExecError(process.execPath, [cli, ...args], r);
  return `${r.stdout}${r.stderr}`;
}

function policyLine(name: string): string {
  const rule = rules.find((r) => r.name === name);
  if (rule === undefined) throw new Error(`no policy ${JSON.stringify(name)}`);
  const level = rule.remediate === undefined ? rule.enforcementLevel : `${rule.enforcementLevel}, remediable`;
  // Blank lines around it keep it apart from the prose after the block.
  return (
    `\nLevel: ${level}; severity: ${rule.severity}; tags: ${rule.tags.join(", ")}; url: \`${policyUrl(name)}\`.\n\n` +
    `Fix: ${rule.remediationSteps}\n\n`
  );
}

/** What a block's command produces, as the block's new body. */
export function produce(root: string, command: string): string {
  const words = command.split(" ").filter((w) => w !== "");
  if (words[0] === "policy" && words.length === 2) return policyLine(words[1]);
  if (words[0] === "bulkhead") {
    const out = runCli(root, words.slice(1)).trimEnd();
    // JSON stays parseable (the marker names the command); text shows the command line.
    return /^[[{]/.test(out) ? `\`\`\`json\n${out}\n\`\`\`\n` : `\`\`\`\n$ ${command}\n${out}\n\`\`\`\n`;
  }
  throw new Error(`unknown generator ${JSON.stringify(command)} (use "bulkhead …" or "policy <name>")`);
}

/** The file's text with every block regenerated. */
export function regenerate(root: string, text: string): string {
  return text.replace(BLOCK, (_m, open: string, command: string, _body: string, close: string) => `${open}${produce(root, command)}${close}`);
}

export function main(argv: string[]): number {
  const root = resolve(__dirname, "..", "..");
  const check = argv.includes("--check");
  const stale: string[] = [];
  for (const file of DOCS) {
    const path = join(root, file);
    const before = readFileSync(path, "utf8");
    const after = regenerate(root, before);
    if (after === before) continue;
    stale.push(file);
    if (!check) writeFileSync(path, after);
  }
  if (stale.length > 0) process.stderr.write(`${check ? "out of date" : "rewrote"}: ${stale.join(", ")}\n`);
  return check && stale.length > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
