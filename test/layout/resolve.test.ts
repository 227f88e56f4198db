import { describe, expect, it } from "vitest";
import { netvmCycles, orderQubes, resolveFirewall, toUplink } from "../../layout/resolve";
import type { QubeClass, ResolvedQube } from "../../layout/model";

function qube(name: string, cls: QubeClass, netvm: string | null, template = "t"): ResolvedQube {
  return {
    name,
    class: cls,
    template,
    rootTemplate: "t",
    netvm,
    label: "gray",
    memory: 400,
    vcpus: 2,
    autostart: false,
    templateForDispvms: false,
    firewall: [],
    devices: { pci: [], usb: [] },
  };
}

describe("orderQubes", () => {
  it("puts each qube after its netvm and DispVM template, by name otherwise", () => {
    const ordered = orderQubes([
      qube("untrusted", "DispVM", "sys-firewall", "dvm"),
      qube("dvm", "AppVM", "sys-firewall"),
      qube("work", "AppVM", "sys-firewall"),
      qube("sys-firewall", "ProxyVM", "sys-net"),
      qube("sys-net", "NetVM", null),
      qube("alpha", "AppVM", null),
    ]);
    expect(ordered.map((q) => q.name)).toEqual(["alpha", "sys-net", "sys-firewall", "dvm", "work", "untrusted"]);
  });

  it("handles a DispVM whose template shares its netvm (DFS path, not pushed set)", () => {
    const ordered = orderQubes([
      qube("a-disp", "DispVM", "p", "z-dvm"),
      qube("z-dvm", "AppVM", "p"),
      qube("p", "ProxyVM", null),
    ]);
    expect(ordered.map((q) => q.name)).toEqual(["p", "z-dvm", "a-disp"]);
  });

  it("terminates on a loop it was wrongly given", () => {
    const ordered = orderQubes([qube("a", "ProxyVM", "b"), qube("b", "ProxyVM", "a")]);
    expect(ordered.map((q) => q.name).sort()).toEqual(["a", "b"]);
  });

  it("orders a long chain without overflowing the stack", () => {
    const chain = Array.from({ length: 20000 }, (_, i) => qube(`p${i}`, "ProxyVM", i === 0 ? null : `p${i - 1}`));
    const ordered = orderQubes([...chain].reverse());
    expect(ordered[0].name).toBe("p0");
    expect(ordered[19999].name).toBe("p19999");
  });
});

describe("netvmCycles", () => {
  const valid = (names: string[]) => new Map(names.map((n) => [n, true]));
  it("finds each cycle once, starting at its smallest name", () => {
    const netvmOf = new Map<string, string | null>([
      ["c", "a"],
      ["a", "b"],
      ["b", "c"],
      ["x", "x"],
      ["tail", "a"],
      ["free", null],
    ]);
    expect(netvmCycles(netvmOf, valid([...netvmOf.keys()]))).toEqual([["a", "b", "c"], ["x"]]);
  });
  it("stops at an invalid netvm", () => {
    const netvmOf = new Map<string, string | null>([
      ["a", "b"],
      ["b", "a"],
    ]);
    expect(netvmCycles(netvmOf, new Map([["a", true], ["b", false]]))).toEqual([]);
  });
});

describe("resolveFirewall", () => {
  it("gives Qubes' default accept when no rules are written", () => {
    expect(resolveFirewall(undefined, 0)).toEqual([{ action: "accept" }]);
  });
  it("treats a rule expiring now as expired and keeps an empty list empty", () => {
    expect(resolveFirewall([{ action: "accept", expire: { at: 100 } }], 100)).toEqual([]);
    expect(resolveFirewall([{ action: "accept", expire: { at: 101 } }], 100)).toEqual([{ action: "accept", expire: 101 }]);
    expect(resolveFirewall([], 100)).toEqual([]);
  });
  it("counts +N from the time of the run and keeps the absolute expiry", () => {
    expect(resolveFirewall([{ action: "accept", expire: { after: 3600 } }], 1000)).toEqual([{ action: "accept", expire: 4600 }]);
    expect(resolveFirewall([{ action: "drop", expire: { after: 0 } }], 1000)).toEqual([]);
  });
});

describe("toUplink", () => {
  it("maps each kind", () => {
    expect(toUplink({ pci: ["0000:03:00.0"] })).toEqual({ kind: "pci", addresses: ["0000:03:00.0"] });
    expect(toUplink({ macvtap: { dev: "eth0" } })).toEqual({ kind: "macvtap", dev: "eth0" });
    expect(toUplink({ bridge: "br0" })).toEqual({ kind: "bridge", bridge: "br0" });
    expect(toUplink({ network: "default" })).toEqual({ kind: "network", network: "default" });
  });
});
