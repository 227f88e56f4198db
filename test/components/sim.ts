// Helpers over simulateProgram's records, for exact assertions.
import { simulateProgram, type SimulatedResource } from "../../components/simulate";
import { host } from "./fixtures";

export function run(program: () => unknown): Promise<SimulatedResource[]> {
  return simulateProgram(program, host).then((s) => s.resources);
}

export function byName(records: SimulatedResource[], name: string): SimulatedResource {
  const found = records.filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`${found.length} resources named ${name}`);
  return found[0];
}

/** `type name` of each direct child of the named resource, sorted. */
export function children(records: SimulatedResource[], parent: string): string[] {
  const urn = byName(records, parent).urn;
  return records.filter((r) => r.parent === urn).map((r) => `${r.type} ${r.name}`).sort();
}

export function inputs(records: SimulatedResource[], name: string): Record<string, unknown> {
  return byName(records, name).inputs;
}

/** Logical names of what the named resource waits for. */
export function dependencyNames(records: SimulatedResource[], name: string): string[] {
  return byName(records, name).dependencies.map((urn) => urn.split("::").pop() ?? urn).sort();
}
