import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadLayout } from "../../layout/load";
import { layoutIssues } from "./helpers";

const dir = path.join(__dirname, "../fixtures/invalid");
const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as Record<
  string,
  { path: string; line: number | null; messageIncludes: string }
>;
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

const issuesOf = (file: string) => layoutIssues(() => loadLayout(path.join(dir, file), { now: 1_700_000_000 }));

describe("invalid layout fixtures", () => {
  it("has at least 30 fixtures, each with exactly one expectation", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  it.each(files)("%s is rejected with the expected first issue", (file) => {
    const issues = issuesOf(file);
    const want = expected[file];
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe(want.path);
    expect(issues[0].line ?? null).toBe(want.line);
    expect(issues[0].message).toContain(want.messageIncludes);
  });
});

describe("valid layout fixtures", () => {
  const valid = path.join(__dirname, "../fixtures/valid");
  it.each(fs.readdirSync(valid).filter((f) => f.endsWith(".yaml")).sort())("%s loads", (file) => {
    expect(loadLayout(path.join(valid, file), { now: 1_700_000_000 }).source).toBe(path.join(valid, file));
  });
});
