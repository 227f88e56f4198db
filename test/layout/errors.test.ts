import { describe, expect, it } from "vitest";
import { closest, didYouMean, editDistance, formatIssue, LayoutError, show } from "../../layout/errors";

describe("formatIssue", () => {
  it("puts path and line before the message", () => {
    expect(formatIssue({ path: "qubes.work.netvm", line: 12, message: '"sys-nett" is not a qube' })).toBe(
      'qubes.work.netvm (line 12): "sys-nett" is not a qube',
    );
  });
  it("leaves out what is unknown", () => {
    expect(formatIssue({ path: "", line: 3, message: "bad" })).toBe("(line 3): bad");
    expect(formatIssue({ path: "qubes", message: "bad" })).toBe("qubes: bad");
    expect(formatIssue({ path: "", message: "the file is empty" })).toBe("the file is empty");
  });
});

describe("LayoutError", () => {
  it("lists every issue, one per line, and keeps them", () => {
    const issues = [
      { path: "qubes.work.netvm", line: 12, message: "first" },
      { path: "qubes.vault.label", line: 20, message: "second" },
    ];
    const error = new LayoutError(issues);
    expect(error.message).toBe("qubes.work.netvm (line 12): first\nqubes.vault.label (line 20): second");
    expect(error.issues).toEqual(issues);
    expect(error.name).toBe("LayoutError");
    expect(error).toBeInstanceOf(Error);
  });
});

describe("editDistance", () => {
  it.each([
    ["sys-net", "sys-nett", 1],
    ["tempalte", "template", 1],
    ["kitten", "sitting", 3],
    ["", "abc", 3],
    ["same", "same", 0],
  ])("%s -> %s is %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe("closest / didYouMean", () => {
  it("suggests a near name", () => {
    expect(didYouMean("sys-nett", ["sys-net", "sys-firewall", "work"])).toBe('; did you mean "sys-net"?');
  });
  it("prefers a case-insensitive match", () => {
    expect(closest("appvm", ["AppVM", "NetVM"])).toBe("AppVM");
  });
  it("allows one edit for short words and two for longer ones", () => {
    expect(closest("wrk", ["work"])).toBe("work");
    expect(closest("wk", ["work"])).toBeUndefined();
    expect(closest("sys-nt", ["sys-net"])).toBe("sys-net");
    expect(closest("sy-nt", ["sys-net"])).toBe("sys-net");
    expect(closest("s-nt", ["sys-net"])).toBeUndefined();
  });
  it("breaks ties by name order", () => {
    expect(closest("vm-b", ["vm-c", "vm-a"])).toBe("vm-a");
  });
  it("says nothing when nothing is close or the list is huge", () => {
    expect(didYouMean("banana", ["sys-net", "work"])).toBe("");
    expect(closest("qube-0", Array.from({ length: 1001 }, (_, i) => `qube-${i + 1}`))).toBeUndefined();
  });
});

describe("show", () => {
  it("renders values briefly", () => {
    expect(show("x".repeat(50))).toBe(`"${"x".repeat(40)}…"`);
    expect(show(undefined)).toBe("nothing");
    expect(show(null)).toBe("null");
    expect(show(1.5)).toBe("1.5");
    expect(show([1])).toBe("a list");
    expect(show({ a: 1 })).toBe("a mapping");
  });
});
