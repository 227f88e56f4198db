// The loader's thin shell: read, parse, validate, resolve; every problem on the way
// becomes a LayoutIssue with path and line, thrown together as one LayoutError.
import { LayoutError } from "./errors";
import { hostNamesIn, resolveHostNames, systemResolver, withAddresses, type Resolver } from "./hostnames";
import { friendlyIssues, type RawIssue } from "./issues";
import type { LayoutIssue, ResolvedLayout } from "./model";
import { resolveLayout } from "./resolve";
import { layoutSchema, type RawLayout } from "./schema";
import { parseYamlSource, readLayoutFile, type ParsedSource } from "./source";

export interface LoadOptions {
  /** Current time in epoch seconds, for firewall `expire` (default: the clock). */
  now?: number;
}

/** Reads and resolves the layout at `path`; throws LayoutError listing every issue. */
export function loadLayout(path: string, opts: LoadOptions = {}): ResolvedLayout {
  const read = readLayoutFile(path);
  if (!read.ok) throw new LayoutError([read.issue]);
  return parseLayout(read.text, path, opts);
}

/** A layout and the line of any path in the file it came from (`bulkhead check`'s findings). */
export interface LayoutWithLines {
  layout: ResolvedLayout;
  lineOf: ParsedSource["lineOf"];
}

/** As loadLayout, keeping the parsed file's line lookup: the file is read and parsed once. */
export function loadLayoutWithLines(path: string, opts: LoadOptions = {}): LayoutWithLines {
  const read = readLayoutFile(path);
  if (!read.ok) throw new LayoutError([read.issue]);
  const { layout, parsed } = parseChecked(read.text, path, opts);
  return { layout, lineOf: (p) => parsed.lineOf(p) };
}

/**
 * As loadLayout, for a deploy: also resolves the DNS names in firewall rules
 * (layout/hostnames.ts); a name that gives no address is a LayoutError with its line.
 */
export async function loadLayoutForDeploy(path: string, opts: LoadOptions & { resolve?: Resolver } = {}): Promise<ResolvedLayout> {
  const read = readLayoutFile(path);
  if (!read.ok) throw new LayoutError([read.issue]);
  return parseLayoutForDeploy(read.text, path, opts);
}

export async function parseLayoutForDeploy(text: string, source: string, opts: LoadOptions & { resolve?: Resolver } = {}): Promise<ResolvedLayout> {
  const { layout, raw, parsed } = parseChecked(text, source, opts);
  const names = hostNamesIn(raw);
  if (names.size === 0) return layout;
  const found = await resolveHostNames(names, opts.resolve ?? systemResolver);
  if (!found.ok) throw new LayoutError(located(found.issues, parsed));
  return withAddresses(layout, found.addresses);
}

/** Resolves layout YAML text; `source` is recorded as the layout's path. */
export function parseLayout(text: string, source: string, opts: LoadOptions = {}): ResolvedLayout {
  return parseChecked(text, source, opts).layout;
}

function parseChecked(text: string, source: string, opts: LoadOptions): { layout: ResolvedLayout; raw: RawLayout; parsed: ParsedSource } {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const parsed = parseYamlSource(text);
  if (!parsed.ok) throw new LayoutError(parsed.issues);
  const { data } = parsed.source;

  const checked = layoutSchema.safeParse(data);
  if (!checked.success) {
    const raw = checked.error.issues.flatMap((issue) => friendlyIssues(issue, data, layoutSchema));
    throw new LayoutError(located(raw, parsed.source));
  }
  const resolved = resolveLayout(checked.data, source, now);
  if (!resolved.ok) throw new LayoutError(located(resolved.issues, parsed.source));
  return { layout: resolved.layout, raw: checked.data, parsed: parsed.source };
}

/** Adds lines, drops duplicates (zod may report one value twice) and sorts by line. */
function located(raw: RawIssue[], source: ParsedSource): LayoutIssue[] {
  const seen = new Set<string>();
  const issues: LayoutIssue[] = [];
  for (const issue of raw) {
    const path = issue.path.map(String).join(".");
    const key = `${path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const line = source.lineOf(issue.path);
    issues.push(line === undefined ? { path, message: issue.message } : { path, line, message: issue.message });
  }
  // Stable sort keeps the schema's order within a line.
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
