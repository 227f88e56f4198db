// Writing Graphviz DOT safely: every id and attribute value is a quoted string,
// so no name can close the quote and inject statements into the graph.

/**
 * A DOT quoted string. Inside quotes DOT only unescapes `\"`; other
 * backslashes reach the label renderer (`\n`, `\l`, `\N`), so a literal
 * backslash is doubled and real newlines become `\n` line breaks.
 */
export function quote(text: string): string {
  const escaped = text
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\r\n|\r|\n/g, "\\n");
  return `"${escaped}"`;
}

export type Attributes = Record<string, string | number | undefined>;

/** `[a="1", b="x"]`, attributes in the given order; undefined ones left out. */
export function attributes(attrs: Attributes): string {
  const parts = Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(String(v))}`);
  return parts.length === 0 ? "" : ` [${parts.join(", ")}]`;
}

export function node(id: string, attrs: Attributes): string {
  return `  ${quote(id)}${attributes(attrs)};`;
}

export function edge(from: string, to: string, attrs: Attributes): string {
  return `  ${quote(from)} -> ${quote(to)}${attributes(attrs)};`;
}
