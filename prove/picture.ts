// The prove picture: the from/to matrix as a table a reviewer can read at any
// size (the earlier drawing put one edge per flow on the layout graph, a
// hairball at 8 qubes). Graphviz renders an HTML-like table label; every text
// in it is escaped, so no qube name can inject markup.
import { destinationsOf, cellText, MISMATCH } from "./report";
import { sourcesOf, type Flow } from "./expected";
import type { ObservedFlow } from "./observe";
import type { ResolvedLayout } from "../layout/model";
import { quote } from "../render/dot";

/** Text for an HTML-like label: the five characters that mean markup there. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const COLOURS = { pass: "#b8e994", blocked: "#e6e6e6", partial: "#fce94f", differs: "#ef2929", none: "#ffffff" } as const;

/**
 * DOT of the matrix: rows are sources, columns destinations; a cell says pass, blocked or the
 * probes that pass, coloured so; a red cell with `!` is where observed differs from expected.
 */
export function matrixDot(layout: ResolvedLayout, flows: readonly (Flow | ObservedFlow)[], observed: boolean): string {
  const cols = destinationsOf(layout);
  const td = (text: string, colour: string, bold = false) =>
    `<TD BGCOLOR="${colour}">${bold ? "<B>" : ""}${escapeHtml(text)}${bold ? "</B>" : ""}</TD>`;
  const header = `<TR>${td("from \\ to", COLOURS.none, true)}${cols.map((c) => td(c, COLOURS.none, true)).join("")}</TR>`;
  const rows = sourcesOf(layout).map((src) => {
    const cells = cols.map((dst) => {
      const cell = flows.filter((f) => f.from === src && f.to === dst);
      if (cell.length === 0) return td("-", COLOURS.none);
      const verdicts = cell.map((f) => ({ flow: f, v: observed && "observed" in f ? f.observed : f.expect }));
      const differs = observed && cell.some((f) => "observed" in f && f.observed !== f.expect);
      const text = cellText(verdicts);
      const colour = differs ? COLOURS.differs : text === "pass" ? COLOURS.pass : text === "blocked" ? COLOURS.blocked : COLOURS.partial;
      return td(`${text}${differs ? MISMATCH : ""}`, colour, differs);
    });
    return `<TR>${td(src, COLOURS.none, true)}${cells.join("")}</TR>`;
  });
  const title = `bulkhead prove ${layout.source}: ${observed ? "observed" : "expected"} flows`;
  const legend = `pass = every probe passed, blocked = none did, a list = only those passed; ${MISMATCH} (red) = observed differs from expected`;
  const table = `<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">${header}${rows.join("")}</TABLE>>`;
  return [
    "digraph prove {",
    `  graph [label=${quote(`${title}\n${legend}`)}, labelloc="t", fontname="Helvetica"];`,
    `  node [shape="plaintext", fontname="Helvetica", fontsize="11"];`,
    `  "matrix" [label=${table}];`,
    "}",
    "",
  ].join("\n");
}
