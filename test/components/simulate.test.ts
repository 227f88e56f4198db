import { describe, expect, it } from "vitest";
import { mockOutputs, simulateLayout } from "../../components/simulate";
import type { ResolvedLayout } from "../../layout/model";
import { example, host, work } from "./fixtures";

describe("simulateLayout", () => {
  it("gives the same resources on every call in one process, even concurrent ones", async () => {
    const [a, b] = await Promise.all([simulateLayout(example), simulateLayout(example)]);
    const c = await simulateLayout(example);
    expect(a.length).toBe(46);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it("records type, name, URN, parent and custom for each resource", async () => {
    const resources = await simulateLayout(example);
    const domain = resources.find((r) => r.name === "bulkhead-work-domain");
    expect(domain && { ...domain, inputs: undefined, dependencies: undefined }).toEqual({
      type: "bulkhead:libvirt:Domain",
      name: "bulkhead-work-domain",
      // Pulumi's mock monitor qualifies a type by its parent's type only.
      urn: "urn:pulumi:simulate::bulkhead::bulkhead:qubes:AppVM$bulkhead:libvirt:Domain::bulkhead-work-domain",
      parent: "urn:pulumi:simulate::bulkhead::bulkhead:qubes:Layout$bulkhead:qubes:AppVM::bulkhead-work",
      inputs: undefined,
      custom: true,
      dependencies: undefined,
    });
  });

  it("rejects a layout the components cannot wire before starting the runtime, and still runs afterwards", async () => {
    const broken: ResolvedLayout = { ...example, qubes: [{ ...work, netvm: "sys-net" }] };
    await expect(simulateLayout(broken)).rejects.toThrow("qubes.work.netvm: sys-net is not a qube declared before it that provides network");
    expect(await simulateLayout(example)).toHaveLength(46);
  });

  it("simulates a 200-qube layout", async () => {
    const many: ResolvedLayout = {
      ...example,
      qubes: [
        ...example.qubes,
        ...Array.from({ length: 200 }, (_, i) => ({ ...work, name: `w${i}`, addressing: { ...work.addressing!, ip: `10.137.1.${i + 10}` } })),
      ],
    };
    const resources = await simulateLayout(many);
    expect(resources).toHaveLength(46 + 200 * 5);
  });
});

describe("mockOutputs", () => {
  it("adds what the provider would: a volume's path in the pool, UUIDs, a bridge name", () => {
    expect(mockOutputs(host, "bulkhead:libvirt:Volume", { name: "work-private.qcow2" })).toEqual({
      path: "/var/lib/libvirt/bulkhead/work-private.qcow2",
    });
    expect(mockOutputs(host, "bulkhead:libvirt:Domain", { name: "work" })).toEqual({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(mockOutputs(host, "bulkhead:libvirt:Network", { name: "sys-net-clients" })).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      bridgeName: expect.stringMatching(/^virbr-[0-9a-f]{8}$/),
    });
    expect(mockOutputs(host, "bulkhead:libvirt:Pool", { name: "bulkhead" })).toEqual({});
  });
});
