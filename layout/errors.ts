// The one error type the loader throws, and the helpers that make its messages
// say where and how to fix ("did you mean").
import type { LayoutIssue } from "./model";
import { printable } from "./text";

export type { LayoutIssue } from "./model";

/** `qubes.work.netvm (line 12): "sys-nett" is not a qube; did you mean "sys-net"?` */
export function formatIssue(issue: LayoutIssue): string {
  const where = [printable(issue.path), issue.line === undefined ? "" : `(line ${issue.line})`]
    .filter((part) => part !== "")
    .join(" ");
  return where === "" ? printable(issue.message) : `${where}: ${printable(issue.message)}`;
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
  return boundedEditDistance(a, b, Math.max(a.length, b.length));
}

/**
 * The optimal string alignment distance of a and b if it is at most `limit`, else limit + 1.
 * Only the diagonal band |i - j| <= limit can hold such an alignment, and the work stops as
 * soon as a whole row exceeds the limit: O(limit * length), not O(length^2).
 */
export function boundedEditDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const over = limit + 1;
  const width = b.length + 1;
  // Three rows (i-2, i-1, i) are enough for the transposition step.
  let before = new Array<number>(width).fill(over);
  let prev = new Array<number>(width).fill(over);
  let row = new Array<number>(width).fill(over);
  for (let j = 0; j <= Math.min(b.length, limit); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row.fill(over);
    if (i <= limit) row[0] = i;
    let best = row[0];
    for (let j = Math.max(1, i - limit); j <= Math.min(b.length, i + limit); j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row[j] = Math.min(d, over);
      if (row[j] < best) best = row[j];
    }
    if (best > limit) return over;
    [before, prev, row] = [prev, row, before];
  }
  return Math.min(prev[b.length], over);
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
  // Long inputs cannot be within distance 2 of a short name; skip the work.
  if (word.length > 64) return undefined;
  const limit = word.length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of sorted) {
    // Only a strictly better candidate matters, so the bound tightens as they are found.
    const distance = boundedEditDistance(lower, candidate.toLowerCase(), bestDistance - 1);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
      if (distance <= 1) break; // 0 is the same word, handled above
    }
  }
  return best;
}

/** `; did you mean "sys-net"?` or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const hint = closest(word, candidates);
  return hint === undefined ? "" : `; did you mean "${hint}"?`;
}

/**
 * `didYouMean` for at most `budget` words: past that, a hostile layout with thousands of
 * misspelt names against a thousand candidates gets plain messages instead of minutes of
 * edit distances (each hint costs up to candidates x word length).
 */
export function hinter(budget: number): (word: string, candidates: readonly string[]) => string {
  let left = budget;
  return (word, candidates) => {
    if (left <= 0) return "";
    left -= 1;
    return didYouMean(word, candidates);
  };
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
