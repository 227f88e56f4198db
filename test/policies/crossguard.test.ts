// The CrossGuard wrappers, called the way the engine calls them (hand-built
// validation args, as pulumi-policy-aws's tests/util.ts does), report exactly
// what `evaluate` reports.
import { createRequire } from "node:module";
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../policies/evaluate";
import { fromResources, type ResourceInput } from "../../policies/model";
import { policies, rules } from "../../policies/pack";
import { clientPort, domainOf, layoutResources, vol } from "./fixtures";

// The engine's unknown-checking proxy (internal to @pulumi/policy, so not in its typings).
const { unknownCheckingProxy } = createRequire(__filename)("@pulumi/policy/proxy") as {
  unknownCheckingProxy: <T>(props: T) => T;
};
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const urn = (r: ResourceInput) => `urn:pulumi:dev::bulkhead::${r.type}::${r.name}`;
const opts = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };
const notApplicable = (reason?: string): never => {
  throw new Error(`not applicable: ${reason ?? ""}`);
};

function resourceArgs(r: ResourceInput, config: object): ResourceValidationArgs {
  return {
    type: r.type,
    props: unknownCheckingProxy(r.inputs),
    urn: urn(r),
    name: r.name,
    opts,
    stackTags: new Map(),
    isType: (cls) => (cls as unknown as { __pulumiType: string }).__pulumiType === r.type,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
    notApplicable,
  };
}

function stackArgs(rs: ResourceInput[], config: object): StackValidationArgs {
  const resources: PolicyResource[] = rs.map((r) => ({
    type: r.type,
    props: unknownCheckingProxy(r.inputs),
    urn: urn(r),
    name: r.name,
    opts,
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => (cls as unknown as { __pulumiType: string }).__pulumiType === r.type,
    asType: () => undefined,
  }));
  return { resources, stackTags: new Map(), getConfig: <T extends object>() => config as T, notApplicable };
}

/** Runs one policy over every resource (or the stack) like the engine; returns [policy, urn, message]. */
async function runPolicy(p: ResourceValidationPolicy | StackValidationPolicy, rs: ResourceInput[], config: object) {
  const got: [string, string | undefined, string][] = [];
  if ("validateStack" in p) {
    await p.validateStack(stackArgs(rs, config), (message, u) => got.push([p.name, u, message]));
  } else {
    const validate = p.validateResource;
    if (validate === undefined || Array.isArray(validate)) throw new Error("one validateResource expected");
    // The engine skips resources of other types using the validator's __pulumiType.
    const only = (validate as unknown as { __pulumiType?: string }).__pulumiType;
    for (const r of rs.filter((x) => x.type === only)) {
      await validate(resourceArgs(r, config), (message) => got.push([p.name, urn(r), message]));
    }
  }
  return got;
}

/** A layout breaking many rules at once, so every wrapper has something to say. */
function brokenLayout(): ResourceInput[] {
  const rs = layoutResources();
  const work = domainOf(rs, "work");
  work.metadata.netvm = "sys-net";
  work.devices.interfaces = [clientPort("", "work", "sys-net", "10.137.0.7")];
  work.devices.hostdevs.push({ mode: "subsystem", type: "usb", source: { vendor: { id: "0x046d" }, product: { id: "0xc52b" } } });
  work.devices.hostdevs.push({ mode: "subsystem", type: "pci", managed: true, source: { address: { domain: "0x0000", bus: "0x05", slot: "0x00", function: "0x0" } } });
  work.devices.graphics = [{ type: "vnc", listen: { type: "address", address: "0.0.0.0" } }];
  const vault = domainOf(rs, "vault");
  vault.devices.interfaces = [clientPort("", "vault", "sys-firewall", "10.137.1.20")];
  delete vault.devices.disks[0].transient;
  const t = domainOf(rs, "debian-12");
  t.devices.interfaces = [clientPort("", "debian-12", "sys-firewall", "10.137.1.21")];
  domainOf(rs, "sys-usb").devices.hostdevs.push(domainOf(rs, "sys-net").devices.hostdevs[0]);
  domainOf(rs, "untrusted").devices.disks[1].transient = undefined;
  delete domainOf(rs, "dvm").devices.interfaces[0].filterref;
  return rs;
}

describe("the pack", () => {
  it("has the spec's fifteen policies, names and default levels, in order", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["netvm-graph", "mandatory"], ["clients-behind-proxy", "mandatory"], ["template-offline", "mandatory"],
      ["offline-means-no-nic", "mandatory"], ["client-port-isolation", "mandatory"], ["host-off-qube-networks", "mandatory"],
      ["egress-filtered", "mandatory"], ["pci-netvm-usbvm-only", "mandatory"], ["usb-confined", "mandatory"],
      ["device-exclusive", "mandatory"], ["root-from-template", "mandatory"], ["disposable-stateless", "mandatory"],
      ["no-remote-display", "mandatory"], ["memory-budget", "advisory"], ["uplink-host-isolated", "advisory"],
    ]);
    expect(policies.filter((p) => "validateStack" in p).map((p) => p.name)).toEqual([
      "netvm-graph", "clients-behind-proxy", "client-port-isolation", "host-off-qube-networks", "egress-filtered",
      "device-exclusive", "root-from-template", "memory-budget", "uplink-host-isolated",
    ]);
  });
});

describe("CrossGuard wrappers", () => {
  it("report what evaluate reports, on the right resources", async () => {
    const rs = brokenLayout();
    const config: Record<string, object> = { "memory-budget": { hostMemoryMiB: 1000 } };
    const got = (await Promise.all(policies.map((p) => runPolicy(p, rs, config[p.name] ?? {})))).flat();
    const want = evaluate(fromResources(rs), { hostMemoryMiB: 1000 });
    // One cause, one finding: eleven causes, each reported by one policy.
    expect(want.map((v) => `${v.policy} ${v.qube}`)).toEqual([
      "template-offline debian-12", "memory-budget dom0", "egress-filtered dvm", "device-exclusive sys-net",
      "disposable-stateless untrusted", "offline-means-no-nic vault", "root-from-template vault",
      "clients-behind-proxy work", "pci-netvm-usbvm-only work", "usb-confined work", "no-remote-display work",
    ]);
    const key = (policy: string, message: string) => `${policy} | ${message}`;
    expect(got.map(([p, , m]) => key(p, m)).sort()).toEqual(want.map((v) => key(v.policy, v.message)).sort());
    // Each finding points at its qube's domain; the host-wide one at no resource.
    for (const [policy, u, message] of got) {
      const qube = want.find((v) => v.policy === policy && v.message === message)?.qube;
      expect([policy, u]).toEqual([policy, qube === "dom0" ? undefined : `urn:pulumi:dev::bulkhead::bulkhead:libvirt:Domain::${qube}`]);
    }
  });

  it("read unknown values as unknown instead of failing the policy", async () => {
    const rs = layoutResources();
    domainOf(rs, "work").devices.disks[0].source.file = UNKNOWN_STRING;
    const root = policies.find((p) => p.name === "root-from-template") as StackValidationPolicy;
    expect(await runPolicy(root, rs, {})).toEqual([]);
  });

  it("remediate a display listening on the network, keeping every other input", () => {
    const rs = layoutResources();
    const work = domainOf(rs, "work");
    work.devices.graphics = [
      { type: "spice", listen: { type: "address", address: "0.0.0.0" } },
      { type: "vnc", listen: { type: "socket" } },
    ];
    const r = rs.find((x) => x.type === "bulkhead:libvirt:Domain" && x.name === "work") as ResourceInput;
    const p = policies.find((x) => x.name === "no-remote-display") as ResourceValidationPolicy;
    const fixed = p.remediateResource?.(resourceArgs(r, {})) as Record<string, unknown>;
    expect(fixed).toEqual({
      ...work,
      devices: { ...work.devices, graphics: [{ type: "spice", listen: { type: "address", address: "127.0.0.1" } }, { type: "vnc", listen: { type: "socket" } }] },
    });
    const again = evaluate(fromResources([{ ...r, inputs: fixed }])).filter((v) => v.policy === "no-remote-display");
    expect(again).toEqual([]);
    expect(p.remediateResource?.(resourceArgs(rs.find((x) => x.name === "vault") as ResourceInput, {}))).toBe(undefined);
  });

  it("describe what they protect against and cite Qubes", () => {
    for (const r of rules) {
      expect([r.name, /^[a-z]+(-[a-z]+)*$/.test(r.name), /Protects/.test(r.description), /Qubes/.test(r.description)]).toEqual([r.name, true, true, true]);
    }
    expect(vol("x")).toBe("/var/lib/libvirt/bulkhead/x");
  });
});
