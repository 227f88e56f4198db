// What a proof run boots when (prove/schedule.ts), on stacks/dev.yaml: the
// phases' sources and their order, on the agent path and the restart path.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLayout } from "../../layout/load";
import { expectedFlows } from "../../prove/expected";
import { planProbes, planStorage, TEMPLATE_FILE } from "../../prove/plan";
import { dispvmsOf, dvmTemplatesOf, providerLines, schedule, storageRestartOrder, toDvmOf } from "../../prove/schedule";

const layout = loadLayout(join(__dirname, "..", "..", "stacks", "dev.yaml"));
const names = layout.qubes.map((q) => q.name);
const onlySysNetRunning = new Map(names.map((n) => [n, n === "sys-net"]));

describe("schedule", () => {
  it("agent path: off providers, then every client boots first; providers probe last, deepest first", () => {
    expect(schedule(layout, () => true, new Set(names), onlySysNetRunning)).toEqual({
      clients: ["vault", "personal", "work", "untrusted"],
      agentProviders: { running: ["sys-net"], off: ["sys-firewall"] },
      agentClients: ["vault", "personal", "work", "untrusted"],
      providers: ["sys-firewall", "sys-net"],
      dvmsToBoot: ["dvm"],
      allAgent: true,
    });
  });
  it("restart path: nothing boots ahead, and the disposable template probes in turn", () => {
    expect(schedule(layout, () => true, new Set(), onlySysNetRunning)).toEqual({
      clients: ["vault", "personal", "work", "untrusted"],
      agentProviders: { running: [], off: [] },
      agentClients: [],
      providers: ["sys-firewall", "sys-net"],
      dvmsToBoot: ["dvm"],
      allAgent: false,
    });
  });
  it("one agent qube without the channel puts the disposable templates on the in-turn path", () => {
    expect(schedule(layout, () => true, new Set(names.filter((n) => n !== "sys-net")), onlySysNetRunning).allAgent).toBe(false);
  });
  it("--only work: work alone probes; the agent providers that are off still boot to forward it", () => {
    expect(schedule(layout, (n) => n === "work", new Set(names), new Map())).toEqual({
      clients: ["work"],
      agentProviders: { running: [], off: ["sys-net", "sys-firewall"] },
      agentClients: ["work"],
      providers: [],
      dvmsToBoot: [],
      allAgent: true,
    });
  });
  it("disposable templates and their DispVMs", () => {
    expect([...dvmTemplatesOf(layout)]).toEqual(["dvm"]);
    expect(dispvmsOf(layout, "dvm")).toEqual(["untrusted"]);
    expect(dispvmsOf(layout, "work")).toEqual([]);
  });
  it("the disposable template's netvm probes it in the template's phase, not in its own", () => {
    const flows = expectedFlows(layout);
    const probeLines = new Map(planProbes(layout, flows).map((p) => [p.source, p.probes]));
    const toDvm = toDvmOf(new Map(flows.map((f) => [f.id, f])), dvmTemplatesOf(layout));
    const fw = probeLines.get("sys-firewall")!;
    expect(fw.filter(toDvm).length).toBeGreaterThan(0);
    expect(providerLines(layout, ["dvm"], probeLines, toDvm, "sys-firewall")).toEqual(fw.filter((x) => !toDvm(x)));
    expect(providerLines(layout, [], probeLines, toDvm, "sys-firewall")).toEqual(fw);
    expect(providerLines(layout, ["dvm"], probeLines, toDvm, "sys-net")).toEqual(probeLines.get("sys-net"));
  });
});

describe("storage after restart", () => {
  const storage = planStorage(layout, () => TEMPLATE_FILE);
  it("dev.yaml has two AppVMs on one template and a DispVM", () => {
    expect([storage.appvms, storage.dispvm]).toEqual([["vault", "personal"], "untrusted"]);
  });
  it("nothing restarted yet: the first AppVM beside the DispVM, the second after them", () => {
    expect(storageRestartOrder(storage, new Set())).toEqual({ first: ["vault", "untrusted"], after: "personal" });
  });
  it("the first AppVM checked already (beside the disposable template): the second beside the DispVM", () => {
    expect(storageRestartOrder(storage, new Set(["vault"]))).toEqual({ first: ["untrusted", "personal"] });
  });
  it("both AppVMs checked: the DispVM alone", () => {
    expect(storageRestartOrder(storage, new Set(["vault", "personal"]))).toEqual({ first: ["untrusted"] });
  });
});
