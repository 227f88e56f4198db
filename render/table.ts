// Plain aligned columns in the style of `virsh list` and `qvm-ls`: easy to read,
// grep and diff, and no box-drawing characters to trip a terminal or a log.
import { printable } from "../layout/text";

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((r) => r.map((cell) => printable(cell ?? "")));
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  return all
    .map((r) => widths.map((w, c) => (r[c] ?? "").padEnd(w)).join("  ").trimEnd())
    .join("\n");
}
