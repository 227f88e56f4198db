// The edge: bytes from disk to a plain JS value plus a way to find the line of any
// path. Everything here assumes hostile input: size-capped, never blocks on a FIFO,
// bounded aliases and nesting, and every failure becomes an issue, never a throw.
import * as fs from "node:fs";
import {
  Composer,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  YAMLParseError,
  type YAMLError,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from "yaml";
import type { LayoutIssue } from "./model";
import type { PathSegment } from "./issues";

export const MAX_LAYOUT_BYTES = 1024 * 1024;
export const MAX_DEPTH = 32;
/**
 * YAML tokens a layout may hold (docs/layout.md): every scalar (keys included) and every
 * indicator (`-` `:` `,` `?` brackets, braces, anchors, tags, aliases) counts one; spaces,
 * line breaks and comments do not. Counted on the lexer's output before the parser builds
 * anything from it: the `yaml` library spends microseconds per token, and a 1 MiB file of
 * `[[[1]]]`, `[1,1,…]` or `]]]…` holds half a million to a million of them (seconds to parse,
 * a syntax error each). A 5,000-qube layout holds about 200,000, a 1 MiB one about 300,000.
 */
export const MAX_TOKENS = 400_000;
const MAX_ALIASES = 100;

export type ReadResult = { ok: true; text: string } | { ok: false; issue: LayoutIssue };

/** Reads a layout file as UTF-8 text, refusing anything that is not a small regular file. */
export function readLayoutFile(path: string): ReadResult {
  const refuse = (message: string): ReadResult => ({ ok: false, issue: { path: "", message } });
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return refuse(`cannot read ${JSON.stringify(path)}: no such file`);
    if (code === "EACCES" || code === "EPERM") return refuse(`cannot read ${JSON.stringify(path)}: permission denied`);
    return refuse(`cannot read ${JSON.stringify(path)}: ${code ?? "unknown error"}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return refuse(`cannot read ${JSON.stringify(path)}: not a regular file`);
    if (stat.size > MAX_LAYOUT_BYTES) return refuse(tooBig(stat.size));
    // Read one byte past the cap in case the file grew since fstat.
    const buffer = Buffer.alloc(MAX_LAYOUT_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_LAYOUT_BYTES) return refuse(tooBig(length));
    }
    return decodeLayoutBytes(buffer.subarray(0, length));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(`cannot read ${JSON.stringify(path)}: ${code ?? "read failed"}`);
  } finally {
    fs.closeSync(fd);
  }
}

function tooBig(bytes: number): string {
  return `the file is ${bytes} bytes; a layout may be at most ${MAX_LAYOUT_BYTES} bytes (1 MiB)`;
}

/** UTF-8 text without NUL bytes, or the reason it is not. */
export function decodeLayoutBytes(bytes: Uint8Array): ReadResult {
  if (bytes.length > MAX_LAYOUT_BYTES) return { ok: false, issue: { path: "", message: tooBig(bytes.length) } };
  if (bytes.includes(0)) return { ok: false, issue: { path: "", message: "the file is binary (it holds NUL bytes); a layout is YAML text" } };
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, issue: { path: "", message: "the file is not UTF-8 text; a layout is YAML text in UTF-8" } };
  }
}

export interface ParsedSource {
  data: unknown;
  /** 1-based line of the entry at `path`, or of the nearest parent that exists. */
  lineOf(path: PathSegment[]): number | undefined;
}

export type ParseResult = { ok: true; source: ParsedSource } | { ok: false; issues: LayoutIssue[] };

const YAML_HINTS: Record<string, string> = {
  MULTIPLE_DOCS: "the file holds more than one YAML document (a --- line); a layout is a single document",
  DUPLICATE_KEY: "a key appears twice in the same mapping; keep one",
  TAB_AS_INDENT: "tabs are not allowed as indentation in YAML; indent with spaces",
  RESOURCE_EXHAUSTION: `the YAML nests too deeply; a layout needs fewer than ${MAX_DEPTH} levels`,
};

/** Parses YAML text into plain data with line lookup, or says what is wrong with it. */
export function parseYamlSource(text: string): ParseResult {
  if (text.length > MAX_LAYOUT_BYTES) return { ok: false, issues: [{ path: "", message: tooBig(text.length) }] };
  const lineCounter = new LineCounter();
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  let doc: Document.Parsed;
  try {
    doc = parseBounded(text, lineCounter);
  } catch (error) {
    if (error instanceof TooManyTokens) {
      const message = `the YAML holds more than ${MAX_TOKENS} tokens (keys, values and the indicators - : , [ ] { }); a layout needs far fewer`;
      return { ok: false, issues: [{ path: "", line: lineAt(error.offset), message }] };
    }
    return { ok: false, issues: [{ path: "", message: `the YAML cannot be parsed: ${firstLine(error)}` }] };
  }
  if (doc.errors.length > 0 || doc.warnings.length > 0) return { ok: false, issues: yamlIssues([...doc.errors, ...doc.warnings], lineAt) };
  if (doc.contents === null) {
    return { ok: false, issues: [{ path: "", message: "the file is empty; a layout starts with version: 1" }] };
  }
  if (!isMap(doc.contents)) {
    const line = doc.contents.range ? lineAt(doc.contents.range[0]) : undefined;
    const what = isSeq(doc.contents) ? "a list" : "a single value";
    return {
      ok: false,
      issues: [{ path: "", line, message: `the document is ${what}; a layout is a mapping with version, templates and qubes` }],
    };
  }
  const shapeIssue = checkShape(doc.contents, lineAt);
  if (shapeIssue !== undefined) return { ok: false, issues: [shapeIssue] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    const message = /alias/i.test(firstLine(error))
      ? `the YAML expands too many aliases (more than ${MAX_ALIASES}); write the values out`
      : `the YAML cannot be read: ${firstLine(error)}`;
    return { ok: false, issues: [{ path: "", message }] };
  }
  const index: KeyIndex = new WeakMap();
  return {
    ok: true,
    source: {
      data,
      lineOf(path) {
        const range = rangeOf(doc, path, index);
        return range === undefined ? undefined : lineAt(range);
      },
    },
  };
}

/** First characters of the tokens that do not count: spaces and tabs, line breaks, comments. */
const UNCOUNTED = new Set([" ", "\t", "\n", "\r", "#"].map((c) => c.charCodeAt(0)));

class TooManyTokens extends Error {
  constructor(readonly offset: number) {
    super(`more than ${MAX_TOKENS} YAML tokens`);
  }
}

/**
 * The `yaml` library's parseDocument (lexer, parser, composer; its first document, a
 * MULTIPLE_DOCS error for a second) with the lexer's tokens counted on the way in:
 * throws TooManyTokens past MAX_TOKENS, before the parser and composer have built them.
 */
function parseBounded(text: string, lineCounter: LineCounter): Document.Parsed {
  // uniqueKeys is checked in checkShape instead: yaml's own check is quadratic in map size.
  const composer = new Composer({ lineCounter, prettyErrors: false, uniqueKeys: false, strict: true });
  const parser = new Parser(lineCounter.addNewLine);
  function* tokens() {
    lineCounter.addNewLine(0);
    let count = 0;
    let scalarText = false;
    for (const lexeme of new Lexer().lex(text)) {
      // A plain or block scalar is the marker "\x1f" and then its text: one token. The lexer's
      // document marker "\x02" and the empty line end at the end of the input do not count.
      if (scalarText) scalarText = false;
      else if (lexeme === "\x1f") {
        scalarText = true;
        count++;
      } else if (lexeme !== "" && lexeme !== "\x02" && !UNCOUNTED.has(lexeme.charCodeAt(0))) count++;
      if (count > MAX_TOKENS) throw new TooManyTokens(parser.offset);
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }
  // Two constant costs per token, lifted while it runs (synchronously; both restored after):
  // the parser reads process.env.LOG_TOKENS for every token, a getenv() each, so it reads a
  // plain copy of the environment; and every syntax error is an Error whose stack trace
  // (never shown: only code, position and message are) cost more than the rest of its
  // parse: a 1 MiB line of `]` or `,` makes a million of them.
  const env = process.env;
  const traces = Error.stackTraceLimit;
  process.env = { ...env };
  Error.stackTraceLimit = 0;
  try {
    let doc: Document.Parsed | undefined;
    for (const next of composer.compose(tokens(), true, text.length)) {
      if (doc === undefined) doc = next;
      else {
        doc.errors.push(new YAMLParseError(next.range.slice(0, 2) as [number, number], "MULTIPLE_DOCS", "Source contains multiple documents; please use YAML.parseAllDocuments()"));
        break;
      }
    }
    return doc!;
  } finally {
    process.env = env;
    Error.stackTraceLimit = traces;
  }
}

/**
 * Iterative walk before anything recurses: refuses deep nesting, keys that are not
 * plain scalars, duplicate keys and `__proto__` (which would vanish from the data).
 */
function checkShape(root: Node, lineAt: (offset: number) => number): LayoutIssue | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    // Lines only for the issue returned: a line lookup per node was a third of this walk.
    const line = () => (node.range ? lineAt(node.range[0]) : undefined);
    if (depth > MAX_DEPTH) {
      return { path: "", line: line(), message: `the YAML nests more than ${MAX_DEPTH} levels deep; a layout needs far fewer` };
    }
    const keys = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) {
        stack.push({ node: item, depth: depth + 1 });
        continue;
      }
      const keyLine = () => ((item.key as Node | null)?.range ? lineAt((item.key as Node).range![0]) : line());
      if (!isScalar(item.key)) {
        return { path: "", line: keyLine(), message: "a mapping key must be a plain name, not a list, mapping or alias" };
      }
      const key = String(item.key.value);
      if (key === "__proto__") return { path: "", line: keyLine(), message: 'the key "__proto__" is not allowed' };
      if (keys.has(key)) return { path: "", line: keyLine(), message: YAML_HINTS.DUPLICATE_KEY };
      keys.add(key);
      stack.push({ node: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * Start offset for `path`: a mapping entry is located by its key (so a block value
 * points at `firewall:`, not at the line below), a list item by the item; a path that
 * does not exist (a missing key) falls back to its deepest existing parent.
 */
function rangeOf(doc: Document.Parsed, path: PathSegment[], index: KeyIndex): number | undefined {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = keyIndexOf(index, node).get(String(segment));
      if (pair === undefined) return best;
      best = (pair.key as Node).range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) return best;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

type YamlMap = YAMLMap<unknown, unknown>;
type KeyIndex = WeakMap<YamlMap, Map<string, Pair<unknown, unknown>>>;

/** Key -> pair per mapping, built on first use: thousands of lookups stay linear. */
function keyIndexOf(index: KeyIndex, map: YamlMap): Map<string, Pair<unknown, unknown>> {
  let keys = index.get(map);
  if (keys === undefined) {
    keys = new Map();
    for (const pair of map.items) {
      if (isScalar(pair.key)) keys.set(String(pair.key.value), pair);
    }
    index.set(map, keys);
  }
  return keys;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].slice(0, 200);
}

/**
 * The parser's errors and warnings as issues, one per distinct line and message, in order.
 * A hostile file makes hundreds of thousands of the same few: each message is worded once.
 */
function yamlIssues(problems: readonly YAMLError[], lineAt: (offset: number) => number): LayoutIssue[] {
  const worded = new Map<string, string>();
  const seen = new Set<string>();
  const issues: LayoutIssue[] = [];
  for (const problem of problems) {
    const raw = `${problem.code}\u0000${problem.message}`;
    let message = worded.get(raw);
    if (message === undefined) {
      message = YAML_HINTS[problem.code] ?? `YAML syntax: ${firstLine(problem)}`;
      worded.set(raw, message);
    }
    const line = lineAt(problem.pos[0]);
    const key = `${line}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: "", line, message });
  }
  return issues;
}
