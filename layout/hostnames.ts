// DNS names in firewall `dsthost`s, resolved when the layout is deployed (as Qubes
// resolves them when it applies the rules, not per connection): the program looks
// each name up once per run and the filter holds those addresses until the next
// `up`. `bulkhead check` stays offline and checks only a name's syntax.
import { lookup } from "node:dns/promises";
import type { PathSegment, RawIssue } from "./issues";
import type { ResolvedLayout } from "./model";
import type { RawLayout } from "./schema";
import { isHostName, parseDstHost } from "./values";

/** Addresses a name resolves to (bare, any order); an empty list or a throw means none. */
export type Resolver = (name: string) => Promise<string[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address of both families. */
export const systemResolver: Resolver = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

/** Every name the layout's rules use, with the first place it is written. */
export function hostNamesIn(raw: RawLayout): Map<string, PathSegment[]> {
  const names = new Map<string, PathSegment[]>();
  for (const [qube, q] of Object.entries(raw.qubes)) {
    (q.firewall ?? []).forEach((rule, i) => {
      if (rule.dsthost !== undefined && isHostName(rule.dsthost) && !names.has(rule.dsthost)) {
        names.set(rule.dsthost, ["qubes", qube, "firewall", i, "dsthost"]);
      }
    });
  }
  return names;
}

/** `a.b.c.d/32` and `x/128` for each address, deduplicated and sorted (a stable preview). */
function normalise(addresses: string[]): string[] {
  const out = new Set<string>();
  for (const a of addresses) {
    const parsed = parseDstHost(a);
    if (parsed.ok && !isHostName(parsed.value)) out.add(parsed.value);
  }
  return [...out].sort();
}

export type NamesResult = { ok: true; addresses: Map<string, string[]> } | { ok: false; issues: RawIssue[] };

/** Resolves every name at once; a name that gives no address is an issue at its first use. */
export async function resolveHostNames(names: Map<string, PathSegment[]>, resolve: Resolver): Promise<NamesResult> {
  const found = await Promise.all(
    [...names.keys()].map(async (name) => {
      try {
        return { name, addresses: normalise(await resolve(name)), why: "" };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { name, addresses: [], why: typeof code === "string" ? ` (${code})` : "" };
      }
    }),
  );
  const issues: RawIssue[] = found
    .filter((f) => f.addresses.length === 0)
    .map((f) => ({
      path: names.get(f.name) as PathSegment[],
      message:
        `${JSON.stringify(f.name)} resolves to no address${f.why}; fix the name or write its address ` +
        "(names are resolved when the layout is deployed)",
    }));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, addresses: new Map(found.map((f) => [f.name, f.addresses])) };
}

/** The layout with each named rule's `addresses` filled in. */
export function withAddresses(layout: ResolvedLayout, addresses: ReadonlyMap<string, string[]>): ResolvedLayout {
  return {
    ...layout,
    qubes: layout.qubes.map((q) => ({
      ...q,
      firewall: q.firewall.map((r) =>
        r.dsthost !== undefined && isHostName(r.dsthost) ? { ...r, addresses: [...(addresses.get(r.dsthost) ?? [])] } : r,
      ),
    })),
  };
}
