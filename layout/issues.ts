// Turns zod issues into one-line messages that name the key and say how to fix it.
// zod's own wording ("Invalid input: expected string, received number") and its JSON
// never reach the user.
import type { z } from "zod";
import { didYouMean, show } from "./errors";

export type PathSegment = string | number;

/** An issue before its line is looked up. */
export interface RawIssue {
  path: PathSegment[];
  message: string;
}

// What a missing required key should hold, so "is required" also says what to write.
const REQUIRED_HINTS: Record<string, string> = {
  version: "add version: 1",
  templates: "add templates: with at least one TemplateVM",
  qubes: "add qubes: (a mapping of qube names to qubes)",
  class: "add class: one of AppVM, NetVM, ProxyVM, UsbVM, DispVM, StandaloneVM",
  image: "add image: the path of the disk image on the host",
  kernel: "add kernel: the path of the kernel on the host",
  action: "add action: accept or drop",
  type: "add type: spice or vnc",
  dev: "add dev: the host interface to attach to",
};

// Nouns for enum-valued keys: `"pink" is not a label; use one of …`.
const NOUNS: Record<string, string> = {
  class: "a qube class",
  label: "a label",
  format: "an image format",
  domainType: "a domain type",
  action: "a firewall action",
  proto: "a protocol",
  specialtarget: "a special target",
  type: "a display type",
};

type AnySchema = z.core.$ZodType;

/** The object keys a path allows, found by walking the schema (for "did you mean"). */
export function allowedKeysAt(schema: AnySchema, path: PathSegment[]): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case "object": {
      const shape = def.shape as Record<string, AnySchema>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next === undefined ? [] : allowedKeysAt(next, path.slice(1));
    }
    case "record":
      return path.length === 0 ? [] : allowedKeysAt(def.valueType as AnySchema, path.slice(1));
    case "array":
      return path.length === 0 ? [] : allowedKeysAt(def.element as AnySchema, path.slice(1));
    case "optional":
    case "nullable":
    case "default":
    case "readonly":
      return allowedKeysAt(def.innerType as AnySchema, path);
    case "pipe":
      return allowedKeysAt(def.in as AnySchema, path);
    case "union":
      for (const option of def.options as AnySchema[]) {
        const keys = allowedKeysAt(option, path);
        if (keys.length > 0) return keys;
      }
      return [];
    default:
      return [];
  }
}

/** The value at a path in the parsed YAML, and whether its key is there at all. */
export function valueAt(data: unknown, path: PathSegment[]): { present: boolean; value: unknown } {
  let current: unknown = data;
  for (const segment of path) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, segment)) {
      return { present: false, value: undefined };
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return { present: true, value: current };
}

function describeExpected(expected: string): string {
  switch (expected) {
    case "string":
      return "text";
    case "number":
    case "int":
      return "a number";
    case "boolean":
      return "true or false";
    case "object":
    case "record":
      return "a mapping (key: value)";
    case "array":
      return "a list";
    default:
      return expected;
  }
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, small: boolean): string {
  const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  switch (issue.origin) {
    case "array":
      return small ? `must list at least ${bound} item${bound === 1 ? "" : "s"}` : `must list at most ${bound} items`;
    case "string":
      return small ? "must not be empty" : `must be at most ${bound} characters`;
    default:
      return small ? `must be at least ${bound}` : `must be at most ${bound}`;
  }
}

/** Prefers the union branch that got past the type check (the user meant that form). */
function unionIssues(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue[] | undefined {
  const deeper = issue.errors.filter((branch) =>
    branch.some((inner) => !(inner.path.length === 0 && (inner.code === "invalid_type" || inner.code === "invalid_value"))),
  );
  if (deeper.length !== 1) return undefined;
  return deeper[0].map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }) as z.core.$ZodIssue);
}

function unionMessage(path: PathSegment[], value: unknown): string {
  if (path[path.length - 1] === "display") {
    return `must be none or { type: spice or vnc, listen: <address> }, not ${show(value)}`;
  }
  return `is not in a form this key accepts: ${show(value)}`;
}

const keyHints = new Map<string, string>();

/**
 * didYouMean for an unknown key, remembered per key and allowed list: a hostile layout repeats
 * the same few misspelt keys in every one of thousands of qubes (an edit distance each).
 */
function keyHint(unknownKey: string, allowed: readonly string[]): string {
  const id = `${unknownKey}\u0000${allowed.join("\u0000")}`;
  let hint = keyHints.get(id);
  if (hint === undefined) {
    if (keyHints.size >= 10_000) keyHints.clear();
    hint = didYouMean(unknownKey, allowed);
    keyHints.set(id, hint);
  }
  return hint;
}

/** One zod issue to one or more friendly issues (one per unknown key). */
export function friendlyIssues(issue: z.core.$ZodIssue, data: unknown, schema: AnySchema): RawIssue[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
  const key = String(path[path.length - 1] ?? "");
  const at = valueAt(data, path);
  if (!at.present && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
    const hint = REQUIRED_HINTS[key];
    return [{ path, message: `"${key}" is required${hint === undefined ? "" : `; ${hint}`}` }];
  }
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeysAt(schema, path);
      return issue.keys.map((unknownKey) => {
        const hint = keyHint(unknownKey, allowed);
        const list = hint === "" && allowed.length > 0 ? `; allowed here: ${allowed.join(", ")}` : "";
        return { path: [...path, unknownKey], message: `unknown key "${unknownKey}"${hint}${list}`};
      });
    }
    case "invalid_key": {
      const inner = issue.issues[0];
      const message = inner?.code === "custom" ? inner.message : `${show(key)} is not a valid name`;
      return [{ path, message}];
    }
    case "invalid_union": {
      const inner = unionIssues(issue);
      if (inner !== undefined) return inner.flatMap((i) => friendlyIssues(i, data, schema));
      return [{ path, message: unionMessage(path, at.value) }];
    }
    case "invalid_type":
      return [{ path, message: `must be ${describeExpected(issue.expected)}, not ${show(at.value)}` }];
    case "invalid_value": {
      const values = issue.values.map(String);
      if (key === "version") {
        return [{ path, message: `unsupported version ${show(at.value)}; this program reads version: 1` }];
      }
      const noun = NOUNS[key];
      const hint = typeof at.value === "string" ? didYouMean(at.value, values) : "";
      const lead = noun === undefined ? `${show(at.value)} is not allowed here` : `${show(at.value)} is not ${noun}`;
      return [{ path, message: `${lead}; use one of: ${values.join(", ")}${hint}` }];
    }
    case "too_small":
      return [{ path, message: sizeMessage(issue, true) }];
    case "too_big": {
      const last = path[path.length - 1];
      const hint =
        last === "firewall"
          ? "; merge rules with CIDRs or port ranges"
          : last === "comment" && path.includes("firewall")
            ? " (libvirt keeps 256 per rule, and bulkhead adds the expiry)"
            : "";
      return [{ path, message: sizeMessage(issue, false) + hint }];
    }
    case "custom":
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: `is not valid here: ${show(at.value)}` }];
  }
}
