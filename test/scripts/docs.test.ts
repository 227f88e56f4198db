// The docs' examples are the commands' output: regenerating every block of
// README.md, docs/layout.md and policies/README.md changes nothing (run
// `npm run build && node dist/scripts/docs.js` after changing what they show).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { DOCS, produce, regenerate } from "../../scripts/docs";

const root = join(__dirname, "..", "..");

describe("generated examples in the docs", () => {
  test.each(DOCS)("%s is up to date", (file) => {
    const text = readFileSync(join(root, file), "utf8");
    expect(text).toContain("<!-- generated: ");
    expect(regenerate(root, text)).toBe(text);
  }, 120_000);

  test("a stale block is rewritten (the check can fail)", () => {
    const stale = "x\n<!-- generated: bulkhead firewall stacks/dev.yaml vault -->\nold\n<!-- end -->\n";
    expect(regenerate(root, stale)).toBe(
      "x\n<!-- generated: bulkhead firewall stacks/dev.yaml vault -->\n```\n$ bulkhead firewall stacks/dev.yaml vault\n" +
        "vault has no netvm: it has no network interface, so no rule applies (everything is blocked)\n```\n<!-- end -->\n",
    );
  });

  test("only bulkhead commands and policy lines are generators", () => {
    expect(() => produce(root, "rm -rf /")).toThrow('unknown generator "rm -rf /"');
  });
});
