// The `bulkhead` resource provider: dispatches each call on the URN's type to
// the handler of that kind. Inputs arrive resolved (no pulumi.Input) but may
// hold the engine's secret wrappers and, during preview, unknown placeholders.
import type * as pulumi from "@pulumi/pulumi";
import type {
  CheckFailure,
  CheckResult,
  CreateResult,
  DiffResult,
  Provider,
  ReadResult,
  UpdateResult,
} from "@pulumi/pulumi/provider";
import type { z } from "zod";
import { domainHandler } from "./kinds/domain";
import { KindHandler, UNKNOWN, changedKeys, unwrapSecrets } from "./kinds/kind";
import { importState } from "./import";
import { CreateJournal } from "./journal";
import { networkHandler } from "./kinds/network";
import { nwfilterHandler } from "./kinds/nwfilter";
import { poolHandler } from "./kinds/pool";
import { preserveViolations, volumeHandler } from "./kinds/volume";
import { ownerOfUrn } from "../libvirt/xml/owner";
import { propertyPath } from "./schemas";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";

export const PROVIDER_VERSION = "0.1.0";

// Handlers are typed per kind; the dispatcher only moves plain objects between them.
type AnyHandler = KindHandler<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const HANDLERS: Readonly<Record<string, AnyHandler>> = {
  [DOMAIN_TYPE]: domainHandler,
  [NETWORK_TYPE]: networkHandler,
  [NWFILTER_TYPE]: nwfilterHandler,
  [POOL_TYPE]: poolHandler,
  [VOLUME_TYPE]: volumeHandler,
};

/** `urn:pulumi:stack::project::parent$type::name` -> `type`. */
export function typeOfUrn(urn: string): string {
  const qualified = urn.split("::")[2] ?? "";
  return qualified.slice(qualified.lastIndexOf("$") + 1);
}

export { propertyPath };

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown[] {
  const seen: unknown[] = [obj];
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") break;
    cur = (cur as Record<PropertyKey, unknown>)[p];
    seen.push(cur);
  }
  return seen;
}

/** Validation failures, leaving out those caused by values not known yet (preview). */
export function checkInputs(schema: z.ZodType<unknown, unknown>, news: unknown): { inputs: unknown; failures: CheckFailure[] } {
  const result = schema.safeParse(news);
  if (result.success) return { inputs: result.data, failures: [] };
  const failures = result.error.issues
    .filter((issue) => !valueAt(news, issue.path).some((v) => v === UNKNOWN))
    .map((issue) => ({ property: propertyPath(issue.path), reason: issue.message }));
  return { inputs: news, failures };
}

export class BulkheadProvider implements Provider {
  readonly version = PROVIDER_VERSION;

  constructor(
    private readonly handlers: Readonly<Record<string, AnyHandler>> = HANDLERS,
    private readonly journal: CreateJournal = new CreateJournal(),
  ) {}

  private handler(urn: pulumi.URN): AnyHandler {
    const type = typeOfUrn(urn);
    const h = this.handlers[type];
    if (!h) throw new Error(`bulkhead provider: unknown resource type ${type}`);
    return h;
  }

  /** Inputs for a real operation: fully known and valid, in libvirt's spelling. */
  private parse(h: AnyHandler, urn: pulumi.URN, props: unknown): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    const result = h.schema.safeParse(unwrapSecrets(props));
    if (result.success) return result.data;
    const detail = result.error.issues.map((i) => `${propertyPath(i.path)}: ${i.message}`).join("; ");
    throw new Error(`${typeOfUrn(urn)} ${urn.split("::").pop()}: invalid inputs: ${detail}`);
  }

  async check(urn: pulumi.URN, olds: unknown, news: unknown): Promise<CheckResult> {
    const { inputs, failures } = checkInputs(this.handler(urn).schema, unwrapSecrets(news));
    // A change that would lose a qube's data fails here, in the preview, before any step runs.
    if (typeOfUrn(urn) === VOLUME_TYPE && failures.length === 0) {
      failures.push(...preserveViolations((unwrapSecrets(olds) ?? {}) as object, inputs as object));
    }
    return { inputs, failures };
  }

  async diff(_id: pulumi.ID, urn: pulumi.URN, olds: unknown, news: unknown): Promise<DiffResult> {
    const h = this.handler(urn);
    const o = unwrapSecrets(olds) as Record<string, unknown>;
    const n = unwrapSecrets(news) as Record<string, unknown>;
    const changed = changedKeys(o, n, h.outputKeys);
    const replaces = h.replaces(changed, o, n);
    // libvirt names are unique per host, so the old object must go first.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  }

  async create(urn: pulumi.URN, inputs: unknown): Promise<CreateResult> {
    const h = this.handler(urn);
    const parsed = this.parse(h, urn, inputs) as Record<string, unknown>;
    const claim = h.claim ? await h.claim(parsed) : {};
    return this.journal.around(urn, typeOfUrn(urn), parsed, () => h.create(parsed, { owner: ownerOfUrn(urn) }, claim), claim);
  }

  async read(id: pulumi.ID, urn: pulumi.URN, props?: unknown): Promise<ReadResult> {
    const h = this.handler(urn);
    const state = unwrapSecrets(props ?? {}) as Record<string, unknown>;
    // No state: `pulumi import` by name (provider/import.ts); the whole live object is read, and
    // its id becomes the one bulkhead's own objects have (the live UUID; a volume's key).
    if (typeof state.uri !== "string" || typeof state.name !== "string") {
      const adopted = await importState(typeOfUrn(urn), id);
      if (adopted === undefined) return { id: "", props: {} };
      const inputs = Object.fromEntries(Object.entries(adopted.state).filter(([k]) => !h.outputKeys.includes(k)));
      return { id: adopted.id, props: adopted.state, inputs };
    }
    const live = await h.read(id, state, { owner: ownerOfUrn(urn) });
    // An empty id tells the engine the object is gone.
    if (live === undefined) return { id: "", props: {} };
    const inputs = Object.fromEntries(Object.entries(live).filter(([k]) => !h.outputKeys.includes(k)));
    return { id, props: live, inputs };
  }

  async update(id: pulumi.ID, urn: pulumi.URN, olds: unknown, news: unknown): Promise<UpdateResult> {
    const h = this.handler(urn);
    const outs = await h.update(id, unwrapSecrets(olds), this.parse(h, urn, news), { owner: ownerOfUrn(urn) });
    return { outs };
  }

  async delete(id: pulumi.ID, urn: pulumi.URN, props: unknown): Promise<void> {
    const h = this.handler(urn);
    await h.delete(id, unwrapSecrets(props), { owner: ownerOfUrn(urn) });
  }
}

