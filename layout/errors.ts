// The one error type the loader throws, and the helpers that make its messages
// say where and how to fix ("did you mean").
import type { LayoutIssue } from "./model";

export type { LayoutIssue } from "./model";

/** `qubes.work.netvm (line 12): "sys-nett" is not a qube; did you mean "sys-net"?` */
export function formatIssue(issue: LayoutIssue): string {
  const where = [issue.path, issue.line === undefined ? "" : `(line ${issue.line})`]
    .filter((part) => part !== "")
    .join(" ");
  return where === "" ? issue.message : `${where}: ${issue.message}`;
}

/** A layout that cannot be used; carries every issue found, not just the first. */
export class LayoutError extends Error {
  readonly issues: LayoutIssue[];

  constructor(issues: LayoutIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "LayoutError";
    this.issues = issues;
  }
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("tempalte"). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        d[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2][j - 2] + 1);
      }
      d[i].push(best);
    }
  }
  return d[a.length][b.length];
}

const MAX_HINT_CANDIDATES = 1000;

/**
 * The closest candidate, if close enough to be a likely typo: case-insensitive
 * equality first, then edit distance 1 (2 for words of 5+ characters).
 * Ties go to the first candidate in sorted order, so hints are deterministic.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const unique = [...new Set(candidates)];
  // A hint is a courtesy; on a hostile layout with thousands of names it would cost minutes.
  if (unique.length > MAX_HINT_CANDIDATES) return undefined;
  const sorted = unique.filter((c) => c !== word).sort(compareNames);
  const lower = word.toLowerCase();
  const sameCase = sorted.find((c) => c.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  // Long inputs cannot be within distance 2 of a short name; skip the quadratic work.
  if (word.length > 64) return undefined;
  const limit = word.length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of sorted) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `; did you mean "sys-net"?` or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hint = closest(word, candidates);
  return hint === undefined ? "" : `; did you mean "${hint}"?`;
}

/** Code-unit order: the same on every machine and locale (unlike localeCompare). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A short, safe rendering of an offending value for a message (one line, bounded). */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    const clipped = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(clipped);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return typeof value;
}
