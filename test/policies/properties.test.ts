// Property-based tests of the stack policies over generated layouts, each
// against an oracle computed from the generator's plan, not from the model.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DomainArgs, HostdevSpec } from "../../libvirt/types";
import { fromResources, type ResourceInput } from "../../policies/model";
import { check as deviceExclusive } from "../../policies/rules/device-exclusive";
import { check as memoryBudget } from "../../policies/rules/memory-budget";
import { check as netvmGraph } from "../../policies/rules/netvm-graph";
import { clientNetwork, clientPort, domainArgs, firewall, providerPort, type QubeSpec } from "./fixtures";

const T = "debian-12";
const domain = (args: DomainArgs): ResourceInput => ({ type: "bulkhead:libvirt:Domain", name: args.name, inputs: { ...args } });

/** Plan: NetVMs n0.., ProxyVMs p0.. and AppVMs a0.., each with the index of its netvm among all providers. */
const plans = fc.record({
  netvms: fc.integer({ min: 1, max: 3 }),
  proxies: fc.array(fc.option(fc.nat(), { nil: undefined }), { maxLength: 5 }),
  apps: fc.array(fc.option(fc.nat(), { nil: undefined }), { maxLength: 5 }),
});
type Plan = { netvms: number; proxies: (number | undefined)[]; apps: (number | undefined)[] };

function build(plan: Plan): { resources: ResourceInput[]; netvmOf: Map<string, string | undefined> } {
  const providers = [...Array(plan.netvms).keys()].map((i) => `n${i}`).concat(plan.proxies.map((_, i) => `p${i}`));
  const pick = (k: number | undefined) => (k === undefined ? undefined : providers[k % providers.length]);
  const netvmOf = new Map<string, string | undefined>();
  const specs: QubeSpec[] = [];
  for (const n of providers.slice(0, plan.netvms)) {
    netvmOf.set(n, undefined);
    specs.push({ qube: n, class: "NetVM", template: T, interfaces: [providerPort("", n)] });
  }
  plan.proxies.forEach((k, i) => {
    const q = `p${i}`;
    const netvm = pick(k);
    netvmOf.set(q, netvm);
    const up = netvm === undefined ? [] : [clientPort("", q, netvm, `10.0.0.${i}`)];
    specs.push({ qube: q, class: "ProxyVM", template: T, netvm, interfaces: [...up, providerPort("", q)] });
  });
  plan.apps.forEach((k, i) => {
    const q = `a${i}`;
    const netvm = pick(k);
    netvmOf.set(q, netvm);
    specs.push({ qube: q, class: "AppVM", template: T, netvm, interfaces: netvm === undefined ? [] : [clientPort("", q, netvm, `10.1.0.${i}`)] });
  });
  const resources = specs.map((s) => domain(domainArgs("", s)));
  for (const p of providers) resources.push({ type: "bulkhead:libvirt:Network", name: p, inputs: { ...clientNetwork("", p) } });
  for (const q of netvmOf.keys()) resources.push({ type: "bulkhead:libvirt:NwFilter", name: q, inputs: { ...firewall("", q) } });
  return { resources, netvmOf };
}

/** The first (by name) qube on each netvm cycle, and ProxyVMs without netvm that have clients: what netvm-graph must name. */
function oracle(netvmOf: Map<string, string | undefined>): string[] {
  const bad = new Set<string>();
  for (const start of netvmOf.keys()) {
    const path = [start];
    for (let n = netvmOf.get(start); n !== undefined; n = netvmOf.get(n)) {
      if (path.includes(n)) {
        bad.add(path.slice(path.indexOf(n)).sort()[0]);
        break;
      }
      path.push(n);
    }
  }
  for (const netvm of netvmOf.values()) {
    if (netvm !== undefined && netvm.startsWith("p") && netvmOf.get(netvm) === undefined) bad.add(netvm);
  }
  return [...bad].sort();
}

describe("netvm-graph over generated layouts", () => {
  it("names exactly one qube per loop and the ProxyVMs that end a chain", () => {
    fc.assert(
      fc.property(plans, (plan) => {
        const { resources, netvmOf } = build(plan);
        const findings = netvmGraph(fromResources(resources));
        expect([...new Set(findings.map((f) => f.qube))]).toEqual(oracle(netvmOf));
        for (const f of findings) expect(/netvm loop|reach no NetVM/.test(f.message)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("has an oracle that sees loops (a fixed plan: p0 and p1 are each other's netvm)", () => {
    const { resources, netvmOf } = build({ netvms: 1, proxies: [2, 1], apps: [1] });
    expect(oracle(netvmOf)).toEqual(["p0"]);
    expect(netvmGraph(fromResources(resources)).map((f) => f.message)).toEqual([
      "p0: netvm loop p0 -> p1 -> p0; break it so the chain ends at a NetVM",
    ]);
  });

  it("finds nothing wrong in a tree whose roots are NetVMs", () => {
    // Each ProxyVM's netvm is a NetVM or an earlier ProxyVM: no loop, every chain ends at a NetVM.
    const trees = plans.map((p) => ({ ...p, proxies: p.proxies.map((k, i) => (k === undefined ? 0 : k % (p.netvms + i))) }));
    fc.assert(
      fc.property(trees, (plan) => {
        expect(netvmGraph(fromResources(build(plan).resources))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

const pciDevice = (bus: number, padded: boolean): HostdevSpec => ({
  mode: "subsystem",
  type: "pci",
  managed: true,
  source: { address: { domain: padded ? "0x0000" : "0x0", bus: `0x${bus.toString(16).padStart(padded ? 2 : 1, "0")}`, slot: "0x00", function: "0x0" } },
});
const usbDevice = (product: number, upper: boolean): HostdevSpec => {
  const id = `0x${product.toString(16).padStart(4, "0")}`;
  return { mode: "subsystem", type: "usb", source: { vendor: { id: "0x046d" }, product: { id: upper ? id.toUpperCase().replace("0X", "0x") : id } } };
};

describe("device-exclusive over generated layouts", () => {
  it("names the first holder of each device given to two or more qubes, once, however the device is written", () => {
    const holdings = fc.array(fc.array(fc.record({ usb: fc.boolean(), id: fc.integer({ min: 1, max: 6 }), style: fc.boolean() }), { maxLength: 4 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(holdings, (qubes) => {
        const resources = qubes.map((devices, i) => {
          const args = domainArgs("", { qube: `q${i}`, class: "UsbVM", template: T });
          args.devices.hostdevs = devices.map((d) => (d.usb ? usbDevice(d.id, d.style) : pciDevice(d.id, d.style)));
          return domain(args);
        });
        const holders = new Map<string, Set<string>>();
        qubes.forEach((devices, i) => devices.forEach((d) => holders.set(`${d.usb}:${d.id}`, (holders.get(`${d.usb}:${d.id}`) ?? new Set()).add(`q${i}`))));
        const expected = [...holders.values()].filter((h) => h.size > 1).map((h) => [...h].sort()[0]).sort();
        expect(deviceExclusive(fromResources(resources)).map((f) => f.qube).sort()).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe("memory-budget over generated layouts", () => {
  it("advises exactly when autostart qubes need more than host.memory, with the right total", () => {
    const qubes = fc.array(fc.record({ memory: fc.integer({ min: 1, max: 8192 }), autostart: fc.boolean() }), { maxLength: 8 });
    fc.assert(
      fc.property(qubes, fc.integer({ min: 1, max: 40000 }), (specs, host) => {
        const resources = specs.map((s, i) => domain(domainArgs("", { qube: `q${i}`, class: "AppVM", template: T, memory: s.memory, autostart: s.autostart })));
        const need = specs.filter((s) => s.autostart).reduce((n, s) => n + s.memory, 0);
        const findings = memoryBudget(fromResources(resources), { hostMemoryMiB: host });
        expect(findings.map((f) => [f.qube, f.message.startsWith(`dom0: autostart qubes need ${need} MiB (`)])).toEqual(need > host ? [["dom0", true]] : []);
        expect(memoryBudget(fromResources(resources), {})).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
