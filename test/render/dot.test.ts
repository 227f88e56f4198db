import { describe, expect, test } from "vitest";
import { attributes, edge, node, quote } from "../../render/dot";

describe("quote", () => {
  test.each([
    ["work", '"work"'],
    ['a"b', '"a\\"b"'],
    ["a\\b", '"a\\\\b"'],
    ["two\nlines", '"two\\nlines"'],
    ["crlf\r\nline", '"crlf\\nline"'],
    ['"]; evil -> x; ["', '"\\"]; evil -> x; [\\""'],
    ["", '""'],
  ])("%j -> %s", (text, dot) => {
    expect(quote(text)).toBe(dot);
  });
});

describe("statements", () => {
  test("attributes keep order and drop undefined values", () => {
    expect(attributes({ label: "x", shape: undefined, penwidth: 1.5 })).toBe(' [label="x", penwidth="1.5"]');
  });

  test("no attributes, no brackets", () => {
    expect(node("host", {})).toBe('  "host";');
  });

  test("edge quotes both ends", () => {
    expect(edge('a"', "b", { style: "dashed" })).toBe('  "a\\"" -> "b" [style="dashed"];');
  });
});
