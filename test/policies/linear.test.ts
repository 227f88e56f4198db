// Issue 12, linear checks: the lookups that were quadratic (a find over every filter,
// network or domain per domain or per finding) now read each list a bounded number of
// times. Counted, never timed: each list is wrapped so its element reads are counted.
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { compileResources } from "../../components/compile";
import { locate } from "../../cli/check";
import { toPolicy } from "../../policies/crossguard";
import { fromResources, type HostModel } from "../../policies/model";
import { check as firewallUnexpired } from "../../policies/rules/firewall-unexpired";
import { check as uplinkHostIsolated, rule as uplinkRule } from "../../policies/rules/uplink-host-isolated";
import { parseLayout } from "../../layout/load";
import { validLayout } from "../../bench/check";
import type { LayoutIssue } from "../../layout/model";
import { layoutIssues } from "../layout/helpers";

/** `items` behind a proxy that counts reads of its elements (for, find, map, filter all read them). */
function counted<T>(items: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { list, reads: () => reads };
}

const HEAD = `version: 1
host: { prefix: "lin-", pool: lin, poolPath: /var/lib/libvirt/lin, domainType: qemu }
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
defaults: { template: debian-12 }
qubes:
`;

/** `n` NetVMs on libvirt's NAT network `default` (which the layout does not define: every lookup misses). */
function netvms(n: number): string {
  let yaml = HEAD;
  for (let i = 0; i < n; i++) yaml += `  net${i}: { class: NetVM, uplink: { network: default } }\n`;
  return yaml;
}

const modelOf = (yaml: string): HostModel => fromResources(compileResources(parseLayout(yaml, "lin.yaml", { now: 0 })));

describe("policies read each list a bounded number of times", () => {
  it("firewall-unexpired looks a domain's filter up by name (was a find over every filter per domain)", () => {
    const model = modelOf(validLayout(400));
    const filters = counted(model.filters);
    expect(firewallUnexpired({ ...model, filters: filters.list }, { now: 0 })).toEqual([]);
    expect(model.filters.length).toBe(399);
    // One pass to index them; the find per domain read about n²/2 = 80,000.
    expect(filters.reads()).toBeLessThanOrEqual(2 * model.filters.length);
  });

  it("uplink-host-isolated looks a NetVM's uplink network up by name (was a find over every network per NetVM)", () => {
    const model = modelOf(netvms(250));
    const networks = counted(model.networks);
    const found = uplinkHostIsolated({ ...model, networks: networks.list });
    expect(found).toEqual([]);
    expect(model.networks.length).toBe(250);
    expect(networks.reads()).toBeLessThanOrEqual(2 * model.networks.length);
  });
});

describe("the CrossGuard stack wrapper", () => {
  it("points each of thousands of findings at its domain without a find per finding", () => {
    // 250 NetVMs on a host bridge: one uplink-host-isolated finding each.
    let yaml = HEAD;
    for (let i = 0; i < 250; i++) yaml += `  net${i}: { class: NetVM, uplink: { bridge: br0 } }\n`;
    const resources = compileResources(parseLayout(yaml, "lin.yaml", { now: 0 })).filter((r) => r.custom || r.type === "bulkhead:qubes:Layout");
    let typeReads = 0;
    const policyResources = resources.map((r) => {
      const resource = {
        props: r.inputs,
        urn: r.urn,
        name: r.name,
        opts: {},
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      };
      Object.defineProperty(resource, "type", {
        get: () => {
          typeReads++;
          return r.type;
        },
        enumerable: true,
      });
      return resource as unknown as PolicyResource;
    });
    const reported: (string | undefined)[] = [];
    const args = { resources: policyResources, stackTags: new Map(), getConfig: () => ({}), notApplicable: () => undefined as never } as unknown as StackValidationArgs;
    void (toPolicy(uplinkRule) as StackValidationPolicy).validateStack(args, (_message, urn) => reported.push(urn));
    expect(reported.length).toBe(250);
    expect(reported[0]).toBe(resources.find((r) => r.name === "bulkhead-net0-domain")!.urn);
    expect(new Set(reported).size).toBe(250);
    // Two filters and one index pass over the resources; a find per finding read ~250 × 1,000.
    expect(typeReads).toBeLessThanOrEqual(4 * resources.length);
  });
});

describe("bulkhead check files findings", () => {
  it("by name sets, not a search of the layout's qubes per finding", () => {
    const layout = parseLayout(validLayout(400), "lin.yaml", { now: 0 });
    const qubes = counted([...layout.qubes]);
    const violations = layout.qubes.map((q) => ({ policy: "p", level: "mandatory" as const, qube: q.name, message: "m" }));
    const located = locate(violations, { ...layout, qubes: qubes.list }, (p) => p.length);
    expect(located.map((v) => v.path)).toEqual(layout.qubes.map((q) => `qubes.${q.name}`));
    expect(qubes.reads()).toBeLessThanOrEqual(2 * layout.qubes.length);
  });
});

describe("the loader", () => {
  it("lists the providers per template without copying the list per provider (a long ProxyVM chain)", () => {
    let yaml = HEAD + "  sys-net: { class: NetVM, uplink: { network: default } }\n";
    for (let i = 0; i < 2000; i++) yaml += `  p${i}: { class: ProxyVM, netvm: ${i === 0 ? "sys-net" : `p${i - 1}`} }\n`;
    const text = yaml;
    // Counts the steps of every array iteration (spread, for-of) while the layout resolves: a
    // copy of the list per provider stepped through about 2,000² / 2 = 2,000,000 elements.
    const iterate = Array.prototype[Symbol.iterator];
    let steps = 0;
    Array.prototype[Symbol.iterator] = function (this: unknown[]) {
      const it = iterate.call(this);
      return {
        next: () => {
          steps++;
          return it.next();
        },
        [Symbol.iterator]() {
          return this;
        },
      } as ArrayIterator<unknown>;
    } as typeof iterate;
    let issues: LayoutIssue[];
    try {
      issues = layoutIssues(() => parseLayout(text, "lin.yaml", { now: 0 }));
    } finally {
      Array.prototype[Symbol.iterator] = iterate;
    }
    // Too many providers for the address plan: refused, after every check has run.
    expect(issues.map((i) => i.message)).toEqual(["2001 qubes provide network (NetVM, ProxyVM, provides_network); at most 256 fit in 10.137.0.0/16"]);
    expect(steps).toBeLessThan(500_000);
  });
});
