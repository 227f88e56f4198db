import { describe, expect, it } from "vitest";
import { parseLayout } from "../../layout/load";
import { expectedFlows } from "../../prove/expected";
import { parseProbeResults, planProbes, planStorage, probesDone, probesFile, recheckWaves } from "../../prove/plan";
import { cellText, matrix } from "../../prove/report";

const layout = parseLayout(
  `version: 1
host: { domainType: qemu, prefix: "t-", images: [/img] }
defaults: { template: lab, netvm: sys-firewall }
templates:
  lab: { image: /img/root.img, format: raw }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { network: up } }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net }
  work: { class: AppVM, label: blue, firewall: [{ action: accept, proto: tcp, dstports: 80 }] }
  personal: { class: AppVM, label: yellow }
  vault: { class: AppVM, label: black, netvm: null }
  dvm: { class: AppVM, label: red, template_for_dispvms: true }
  untrusted: { class: DispVM, label: red, template: dvm }
`,
  "t.yaml",
  { now: 1_700_000_000 },
);

describe("probe plan", () => {
  const flows = expectedFlows(layout);
  const plans = planProbes(layout, flows);
  it("templates and address-less destinations are observed from the definition", () => {
    const lab = plans.find((p) => p.source === "lab")!;
    expect(lab.probes).toEqual([]);
    expect(lab.byDefinition.length).toBe(flows.filter((f) => f.from === "lab").length);
    const personal = plans.find((p) => p.source === "personal")!;
    expect(personal.byDefinition).toEqual([
      "personal->lab icmp", "personal->lab tcp/7", "personal->lab tcp/80", "personal->lab udp/7",
      "personal->vault icmp", "personal->vault tcp/7", "personal->vault tcp/80", "personal->vault udp/7",
    ]);
  });
  it("writes one probes.txt line per flow with a short id", () => {
    const work = plans.find((p) => p.source === "work")!;
    const fw = layout.qubes.find((q) => q.name === "sys-firewall")!.provides!.gateway;
    expect(work.probes.slice(0, 4)).toEqual([
      { id: "p1", flow: "work->sys-net icmp", line: `p1 icmp ${layout.qubes.find((q) => q.name === "sys-net")!.provides!.gateway}` },
      { id: "p2", flow: "work->sys-net tcp/7", line: `p2 tcp ${layout.qubes.find((q) => q.name === "sys-net")!.provides!.gateway} 7` },
      { id: "p3", flow: "work->sys-net tcp/80", line: `p3 tcp ${layout.qubes.find((q) => q.name === "sys-net")!.provides!.gateway} 80` },
      { id: "p4", flow: "work->sys-net udp/7", line: `p4 udp ${layout.qubes.find((q) => q.name === "sys-net")!.provides!.gateway} 7` },
    ]);
    expect(work.probes.find((p) => p.flow === "work->sys-firewall icmp")!.line).toMatch(new RegExp(` icmp ${fw.replace(/\./g, "\\.")}$`));
    expect(work.probes.find((p) => p.flow === "work->internet udp/53")!.line).toMatch(/ udp 10\.200\.0\.1 53$/);
  });
  it("probes.txt: storage lines first, then probes", () => {
    expect(probesFile([{ id: "p1", flow: "x", line: "p1 icmp 10.0.0.1" }], [{ id: "s1", op: "write", scope: "root", name: "m", expect: "written", why: "" }])).toBe(
      "# written by bulkhead prove\ns1 write root m\np1 icmp 10.0.0.1\n",
    );
  });
});

describe("storage plan", () => {
  it("two AppVMs on one template, then the DispVM", () => {
    const s = planStorage(layout);
    expect(s.appvms).toEqual(["vault", "personal"]);
    expect(s.dispvm).toBe("untrusted");
    expect(s.template).toBe("lab");
    expect(s.boots.map((b) => `${b.qube}:${b.boot}:${b.lines.map((l) => `${l.op} ${l.scope} ${l.name}=${l.expect}`).join(",")}`)).toEqual([
      "vault:1:write root bh-vault-root=written,write private bh-vault-private=written",
      "personal:1:write root bh-personal-root=written,write private bh-personal-private=written",
      "vault:2:exists root bh-vault-root=absent,exists private bh-vault-private=present,exists root bh-personal-root=absent,exists lib probes=present",
      "personal:2:exists root bh-personal-root=absent,exists private bh-personal-private=present,exists root bh-vault-root=absent,exists lib probes=present",
      "untrusted:1:write root bh-untrusted-root=written,write private bh-untrusted-private=written",
      "untrusted:2:exists root bh-untrusted-root=absent,exists private bh-untrusted-private=absent",
    ]);
    // The checks of another qube's writes name it (the agent path runs them in place while both run).
    expect(s.boots.flatMap((b) => b.lines.filter((l) => l.about !== undefined).map((l) => `${l.id}:${l.about!}`))).toEqual(["s-vault-sees-personal:personal", "s-personal-sees-vault:vault"]);
  });
});

describe("console parsing", () => {
  it("reads results and the end marker, ignoring other lines", () => {
    const log = "boot noise\r\nbulkhead: ready\r\nbulkhead-probe p1 pass\r\n[  3.1] x bulkhead-probe p2 blocked\nbulkhead-probe s-work-root absent\nbulkhead-probe p3 maybe\n";
    expect([...parseProbeResults(log)]).toEqual([["p1", "pass"], ["p2", "blocked"], ["s-work-root", "absent"]]);
    expect(probesDone(log)).toBe(false);
    expect(probesDone(`${log}bulkhead: probes done\n`)).toBe(true);
  });
});

describe("report", () => {
  it("cells", () => {
    const f = (proto: "tcp" | "icmp", port?: number) => ({ id: "", from: "a", to: "b", proto, expect: "pass" as const, why: "", ...(port ? { port } : {}) });
    expect(cellText([{ flow: f("icmp"), v: "pass" }, { flow: f("tcp", 80), v: "pass" }])).toBe("pass");
    expect(cellText([{ flow: f("icmp"), v: "blocked" }, { flow: f("tcp", 80), v: "pass" }])).toBe("tcp/80");
    expect(cellText([{ flow: f("icmp"), v: "blocked" }, { flow: f("tcp", 80), v: "unknown" }])).toBe("?");
  });
  it("the expected matrix of the layout", () => {
    expect(matrix(layout, expectedFlows(layout), false).split("\n")).toEqual([
      "from \\ to     lab      sys-net  vault    sys-firewall  dvm      personal  work     untrusted  host     internet  dns",
      "lab           -        blocked  blocked  blocked       blocked  blocked   blocked  blocked    blocked  blocked   blocked",
      "sys-net       blocked  -        blocked  blocked       blocked  blocked   blocked  blocked    blocked  pass      pass",
      "vault         blocked  blocked  -        blocked       blocked  blocked   blocked  blocked    blocked  blocked   blocked",
      "sys-firewall  blocked  icmp     blocked  -             blocked  blocked   blocked  blocked    blocked  pass      pass",
      "dvm           blocked  icmp     blocked  icmp          -        blocked   blocked  blocked    blocked  pass      pass",
      "personal      blocked  icmp     blocked  icmp          blocked  -         blocked  blocked    blocked  pass      pass",
      "work          blocked  blocked  blocked  blocked       blocked  blocked   -        blocked    blocked  tcp/80    blocked",
      "untrusted     blocked  icmp     blocked  icmp          blocked  blocked   blocked  -          blocked  pass      pass",
    ]);
  });
});

describe("recheckWaves", () => {
  it("never boots a source together with one of its destinations; at most `parallel` per wave", () => {
    const pending = new Map<string, Set<string>>([
      ["a", new Set(["b", "c", "d"])],
      ["b", new Set(["c", "d"])],
      ["c", new Set(["d"])],
      ["e", new Set(["f"])],
    ]);
    expect(recheckWaves(pending, 3)).toEqual([["a", "e"], ["b"], ["c"]]);
    expect(recheckWaves(new Map([["x", new Set(["y"])], ["y", new Set(["z"])], ["w", new Set(["z"])]]), 2)).toEqual([["x", "w"], ["y"]]);
    expect(recheckWaves(new Map([["p", new Set(["q"])], ["r", new Set(["q"])], ["s", new Set(["q"])]]), 2)).toEqual([["p", "r"], ["s"]]);
    expect(recheckWaves(new Map(), 3)).toEqual([]);
  });
});
