// Runs the Layout component in-process under Pulumi's mocks: what `bulkhead
// check` and the policy pack judge offline, without an engine or a host.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost, ResolvedLayout } from "../layout/model";
import { Layout } from "./layout";
import { DOMAIN_TYPE, NETWORK_TYPE, VOLUME_TYPE } from "../libvirt/tokens";
import { volumePath } from "./naming";
import { SIM_LAYOUT, SIM_PROJECT, SIM_STACK, type SimulatedResource, type SimulateOptions } from "./compile";
import { checkWiring, deployHost } from "./wiring";

// Defined with compileResources, which needs them without the SDK; still exported from here.
export { SIM_PROJECT, SIM_STACK, type SimulatedResource, type SimulateOptions };

// Pulumi's runtime state is process-global, so runs are queued, never overlapped.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Every resource the layout registers, with its resolved inputs, sorted by
 * URN (registration order depends on serialisation timing; URNs do not).
 * Callable any number of times per process; concurrent calls run one after
 * another.
 */
export function simulateLayout(layout: ResolvedLayout, opts: SimulateOptions = {}): Promise<SimulatedResource[]> {
  let host: ResolvedHost;
  try {
    host = deployHost(layout, opts.uri);
    checkWiring(layout);
  } catch (err) {
    return Promise.reject(err);
  }
  return simulateProgram(() => ({ qubes: new Layout(SIM_LAYOUT, { layout, uri: opts.uri }).qubes }), host).then((s) => s.resources);
}

export interface Simulation {
  /** Every registered resource, sorted by URN. */
  resources: SimulatedResource[];
  /** The program's stack outputs, resolved. */
  outputs: Record<string, unknown>;
}

/**
 * Runs any program (a function creating resources, returning stack outputs)
 * under the mocks; `host` gives the pool path the mocked volume paths use.
 */
export function simulateProgram(program: () => unknown, host: Pick<ResolvedHost, "poolPath">): Promise<Simulation> {
  const run = queue.then(() => simulateOnce(program, host));
  queue = run.catch(() => undefined);
  return run;
}

async function simulateOnce(program: () => unknown, host: Pick<ResolvedHost, "poolPath">): Promise<Simulation> {
  const records: SimulatedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: mockId(args), state: { ...args.inputs, ...mockOutputs(host, args.type, args.inputs) } }),
      call: (args) => args.inputs,
    },
    SIM_PROJECT,
    SIM_STACK,
    false,
  );
  recordRegistrations(records);
  // The runtime captures a stack trace for every promise it tracks, most of
  // the run's time; nobody reads them here. Restored before returning.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = await pulumi.runtime.runInPulumiStack(async () => (await program()) as Record<string, unknown> | undefined);
  } finally {
    // Outputs can resolve before the last registration answered: drain the
    // RPCs, after a failure too, so that none reaches the next run's monitor.
    await pulumi.runtime.disconnect().catch(() => undefined);
    Error.stackTraceLimit = stackTraceLimit;
  }
  const resources = records.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  return { resources, outputs: outputs ?? {} };
}

/** Wraps the mock monitor to see each registration's parent and URN, which the mocks are not given. */
function recordRegistrations(records: SimulatedResource[]): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike | undefined;
  if (monitor === undefined) throw new Error("simulate: the Pulumi mocks did not install a monitor");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const entry: SimulatedResource = {
      type: req.getType(),
      name: req.getName(),
      urn: "",
      inputs: pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>,
      custom: req.getCustom(),
      dependencies: [...new Set(req.getDependenciesList())].sort(),
    };
    if (req.getParent() !== "") entry.parent = req.getParent();
    records.push(entry);
    register(req, (err, res) => {
      if (err === null && res !== undefined) entry.urn = res.getUrn();
      callback(err, res);
    });
  };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  getObject(): Parameters<typeof pulumi.runtime.deserializeProperties>[0];
}
interface RegisterResponse {
  getUrn(): string;
}
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: (err: Error | null, res?: RegisterResponse) => void): void;
}

function mockId(args: pulumi.runtime.MockResourceArgs): string {
  const name = args.inputs.name;
  return typeof name === "string" ? name : `${args.name}-id`;
}

/** What the provider would add to the inputs: UUIDs, volume paths, bridge names (deterministic). */
export function mockOutputs(host: Pick<ResolvedHost, "poolPath">, type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const name = String(inputs.name ?? "");
  switch (type) {
    case DOMAIN_TYPE:
      return { uuid: mockUuid(`${type}:${name}`) };
    case VOLUME_TYPE:
      return { path: volumePath(host, name) };
    case NETWORK_TYPE:
      return { uuid: mockUuid(`${type}:${name}`), bridgeName: `virbr-${hex(name).slice(0, 8)}` };
    default:
      return {};
  }
}

function hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

function mockUuid(seed: string): string {
  const h = hex(seed);
  return [h.slice(0, 8), h.slice(8, 12), `4${h.slice(13, 16)}`, `8${h.slice(17, 20)}`, h.slice(20, 32)].join("-");
}
