// Judging a proof run (prove/judge.ts): which "blocked" answers are evidence,
// which flows are probed again, and the notes the report gives.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLayout } from "../../layout/load";
import { expectedFlows } from "../../prove/expected";
import { judgeFlows, mustPassBlocked, recheck, unjudged, upThrough, type Evidence, type ProbeAnswer, type Uptime } from "../../prove/judge";
import { planProbes } from "../../prove/plan";

const layout = loadLayout(join(__dirname, "..", "..", "stacks", "dev.yaml"));
const flows = expectedFlows(layout);
const flowById = new Map(flows.map((f) => [f.id, f]));
const probeLines = new Map(planProbes(layout, flows).map((p) => [p.source, p.probes]));
// A probed flow between two clients that must be blocked, and one from work that must pass.
const toPersonal = flows.find((f) => f.from === "work" && f.to === "personal" && f.address !== undefined && f.expect === "blocked")!;
const mustPass = flows.find((f) => f.from === "work" && f.address !== undefined && f.expect === "pass")!;

function evidence(answers: [string, ProbeAnswer][], uptime: Uptime, ifaceCount = new Map(layout.qubes.map((q) => [q.name, 1]))): Evidence {
  return { flowById, observedBy: new Map(answers), uptime, ifaceCount, clients: new Set(["vault", "personal", "work", "untrusted"]) };
}

describe("evidence", () => {
  it("a destination counts as up only from UP_MARGIN_S before the end of the probes through their end", () => {
    const uptime: Uptime = new Map([["personal", [{ from: 0, to: 20_000 }]]]);
    expect(upThrough(uptime, "personal", 10_000)).toBe(true);
    expect(upThrough(uptime, "personal", 4_000)).toBe(false);
    expect(upThrough(uptime, "personal", 21_000)).toBe(false);
    expect(upThrough(new Map([["personal", [{ from: 0 }]]]), "personal", 21_000)).toBe(true);
  });
  it("a client's blocked towards a client that was not up is unjudged; up, or without interfaces, it is evidence", () => {
    const answer: [string, ProbeAnswer][] = [[toPersonal.id, { observed: "blocked", doneAt: 10_000 }]];
    expect(unjudged(evidence(answer, new Map()), toPersonal.id)).toBe(true);
    expect(unjudged(evidence(answer, new Map([["personal", [{ from: -Infinity }]]])), toPersonal.id)).toBe(false);
    expect(unjudged(evidence(answer, new Map(), new Map([["work", 0]])), toPersonal.id)).toBe(false);
    expect(unjudged(evidence([[toPersonal.id, { observed: "pass", doneAt: 10_000 }]], new Map()), toPersonal.id)).toBe(false);
  });
  it("re-probes and retries pick per source what was unjudged or must pass and was blocked", () => {
    const e = evidence(
      [
        [toPersonal.id, { observed: "blocked", doneAt: 10_000 }],
        [mustPass.id, { observed: "blocked", doneAt: 10_000 }],
      ],
      new Map(),
    );
    const line = (flow: string) => probeLines.get("work")!.find((p) => p.flow === flow)!;
    expect(recheck(["vault", "work"], probeLines, flowById, (x) => unjudged(e, x.flow))).toEqual({
      lines: new Map([["work", [line(toPersonal.id)]]]),
      to: new Map([["work", new Set(["personal"])]]),
    });
    expect(recheck(["vault", "work"], probeLines, flowById, (x) => mustPassBlocked(e, x))).toEqual({
      lines: new Map([["work", [line(mustPass.id)]]]),
      to: new Map([["work", new Set([mustPass.to])]]),
    });
  });
});

describe("judgeFlows", () => {
  const e = evidence(
    [
      [toPersonal.id, { observed: "blocked", doneAt: 10_000 }],
      [mustPass.id, { observed: "pass", doneAt: 10_000 }],
    ],
    new Map(),
    new Map([...layout.qubes.map((q) => [q.name, 1] as [string, number]), ["lab", 0]]),
  );
  const judged = new Map(judgeFlows(layout, flows, e, new Map([[toPersonal.id, "personal was not running while work probed it"]]), new Set([mustPass.id])).map((f) => [f.id, f]));
  it("a blocked towards a client that was not up becomes unknown, with why", () => {
    expect(judged.get(toPersonal.id)).toEqual({ ...toPersonal, observed: "unknown", method: "probe", note: "personal was not up for the last 5 s of work's probes" });
  });
  it("a retried flow says so", () => {
    expect(judged.get(mustPass.id)).toEqual({ ...mustPass, observed: "pass", method: "probe", note: "blocked at the first try, while other qubes booted; passed on a retry" });
  });
  it("a flow never answered is unknown; a template's flows are read from its definition", () => {
    const other = flows.find((f) => f.from === "personal" && f.address !== undefined)!;
    expect(judged.get(other.id)).toEqual({ ...other, observed: "unknown", method: "probe" });
    const fromLab = flows.find((f) => f.from === "lab")!;
    expect(judged.get(fromLab.id)).toEqual({ ...fromLab, observed: "blocked", method: "definition", note: "lab's live definition has no network interface" });
    const toVault = flows.find((f) => f.from === "work" && f.to === "vault")!;
    expect(judged.get(toVault.id)).toEqual({ ...toVault, observed: "unknown", method: "definition", note: "vault has 1 interface(s) but no address to probe" });
  });
});
