import { expect } from "vitest";
import { LayoutError } from "../../layout/errors";
import type { LayoutIssue } from "../../layout/model";

/**
 * Runs `fn`, asserts it threw a LayoutError and returns its issues. The assertion is
 * outside any catch block, so a call that does not throw fails the test.
 */
export function layoutIssues(fn: () => unknown): LayoutIssue[] {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(LayoutError);
  return (thrown as LayoutError).issues;
}
