// What a proof run (prove/observe.ts) boots when, decided without a host from
// the layout, the sources chosen (--only) and what the live definitions said
// (which qubes have the guest agent, which were running). Pure.
import type { ResolvedLayout, ResolvedQube } from "../layout/model";
import type { Flow } from "./expected";
import type { ProbeLine, StoragePlan } from "./plan";

/**
 * Templates of disposables. One cannot run beside its DispVMs (their private is
 * a copy-on-write view of its private, which it holds write-locked), so it is
 * booted on its own; --only skips that unless it is listed, and flows to it.
 */
export function dvmTemplatesOf(layout: ResolvedLayout): Set<string> {
  return new Set(layout.qubes.filter((q) => q.class === "DispVM").map((q) => q.template));
}

export function dispvmsOf(layout: ResolvedLayout, template: string): string[] {
  return layout.qubes.filter((q) => q.class === "DispVM" && q.template === template).map((q) => q.name);
}

export interface Schedule {
  /** Chosen qubes that provide no network and are no disposable template, in layout order: probed first. */
  clients: string[];
  /** Agent qubes to boot before the clients probe: providers that are off, then agent clients (those found off boot). */
  agentProviders: { running: string[]; off: string[] };
  agentClients: string[];
  /** Chosen providers, deepest first (reverse layout order): probed last, one at a time. */
  providers: string[];
  /** Chosen disposable templates: probed while their DispVMs are off. */
  dvmsToBoot: string[];
  /** Every client, provider and disposable template answers through its agent (nothing restarts while it probes). */
  allAgent: boolean;
}

export function schedule(
  layout: ResolvedLayout,
  chosen: (name: string) => boolean,
  agent: ReadonlySet<string>,
  wasRunning: ReadonlyMap<string, boolean>,
): Schedule {
  const dvmTemplates = dvmTemplatesOf(layout);
  const clients = layout.qubes.filter((q) => q.provides === undefined && !dvmTemplates.has(q.name) && chosen(q.name)).map((q) => q.name);
  const agentProvider = (q: ResolvedQube) => q.provides !== undefined && agent.has(q.name);
  const providers = layout.qubes.filter((q) => q.provides !== undefined && chosen(q.name)).map((q) => q.name).reverse();
  const dvmsToBoot = [...dvmTemplates].filter(chosen);
  return {
    clients,
    agentProviders: {
      running: layout.qubes.filter((q) => agentProvider(q) && wasRunning.get(q.name) === true).map((q) => q.name),
      off: layout.qubes.filter((q) => agentProvider(q) && wasRunning.get(q.name) !== true).map((q) => q.name),
    },
    agentClients: clients.filter((c) => agent.has(c)),
    providers,
    dvmsToBoot,
    allAgent: [...clients, ...providers, ...dvmsToBoot].every((q) => agent.has(q)),
  };
}

/** The probes a provider runs in its own phase: those to a disposable template booted with it run there instead. */
export function providerLines(
  layout: ResolvedLayout,
  dvmsToBoot: readonly string[],
  probeLines: ReadonlyMap<string, readonly ProbeLine[]>,
  toDvm: (x: ProbeLine) => boolean,
  provider: string,
): ProbeLine[] {
  const done = dvmsToBoot.some((t) => layout.qubes.find((q) => q.name === t)!.netvm === provider);
  return (probeLines.get(provider) ?? []).filter((x) => !(done && toDvm(x)));
}

/** Whether a probe line goes to a disposable template. */
export function toDvmOf(flowById: ReadonlyMap<string, Flow>, dvmTemplates: ReadonlySet<string>): (x: ProbeLine) => boolean {
  return (x) => dvmTemplates.has(flowById.get(x.flow)!.to);
}

/**
 * Storage checks after a restart not yet run: the first AppVM and the DispVM at once, and the
 * second AppVM beside them if the first has checked already, else after them.
 */
export function storageRestartOrder(storage: StoragePlan, restarted: ReadonlySet<string>): { first: string[]; after?: string } {
  const [storageA, storageB] = storage.appvms ?? [];
  const first = [storageA, storage.dispvm].filter((x): x is string => x !== undefined && !restarted.has(x));
  // Once the first AppVM has checked, the second may restart beside the DispVM.
  const b = storageB !== undefined && !restarted.has(storageB) ? storageB : undefined;
  if (b !== undefined && storageA !== undefined && restarted.has(storageA)) {
    first.push(b);
    return { first };
  }
  return b === undefined ? { first } : { first, after: b };
}
