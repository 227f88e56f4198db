import { expect, test } from "vitest";
import { formatTable } from "../../render/table";

test("columns are as wide as their widest cell, two spaces apart, no trailing spaces", () => {
  expect(formatTable(["NAME", "CLASS"], [["sys-firewall", "ProxyVM"], ["work", "AppVM"]])).toBe(
    ["NAME          CLASS", "sys-firewall  ProxyVM", "work          AppVM"].join("\n"),
  );
});

test("a header alone", () => {
  expect(formatTable(["KIND", "NAME"], [])).toBe("KIND  NAME");
});
