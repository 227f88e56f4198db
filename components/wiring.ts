// The Layout's own pure pieces: the reference check it runs before creating
// anything, and the pool's inputs. Kept free of the Pulumi SDK so that
// the compile step (components/compile.ts) can use them without loading it.
import type { ResolvedHost, ResolvedLayout, ResolvedQube } from "../layout/model";
import type { PoolArgs } from "../libvirt/types";
import { assertAllowedUri } from "../libvirt/uri";

/**
 * The host the resources go to: the layout's, with the `bulkhead:uri` override if any.
 * Both URIs are held to the allow-list: the override comes from the stack's config, and
 * a hand-built layout never went through the loader.
 */
export function deployHost(layout: ResolvedLayout, uri: string | undefined): ResolvedHost {
  const chosen = uri ?? layout.host.uri;
  assertAllowedUri(chosen, uri === undefined ? "host.uri" : "bulkhead:uri");
  return { ...layout.host, uri: chosen };
}

/**
 * Throws unless every reference the components wire can be wired: templates
 * exist, each netvm is a provider declared earlier (a template's may come
 * later), a DispVM's template is an AppVM declared earlier. The loader
 * guarantees this; checking first keeps a hand-built layout from failing
 * halfway through a Pulumi run.
 */
export function checkWiring(layout: ResolvedLayout): void {
  const templates = new Set(layout.templates.map((t) => t.name));
  const providers = new Set(layout.qubes.filter((q) => q.provides !== undefined).map((q) => q.name));
  for (const t of layout.templates) {
    if (t.netvm !== null && !providers.has(t.netvm)) {
      throw new Error(`templates.${t.name}.netvm: ${t.netvm} is not a qube that provides network`);
    }
  }
  const seen = new Map<string, ResolvedQube>();
  for (const q of layout.qubes) {
    if (!templates.has(q.rootTemplate)) throw new Error(`qubes.${q.name}.template: ${q.rootTemplate} is not a template`);
    if (q.netvm !== null && seen.get(q.netvm)?.provides === undefined) {
      throw new Error(`qubes.${q.name}.netvm: ${q.netvm} is not a qube declared before it that provides network`);
    }
    if (q.class === "DispVM" && (seen.get(q.template)?.class !== "AppVM" || seen.get(q.template)?.privateBytes === undefined)) {
      throw new Error(`qubes.${q.name}.template: ${q.template} is not an AppVM declared before it`);
    }
    seen.set(q.name, q);
  }
}

export function poolArgs(host: ResolvedHost): PoolArgs {
  return { uri: host.uri, name: host.pool, type: "dir", target: { path: host.poolPath }, autostart: true };
}

/** What the Layout component registers as its own inputs: host.memory, which no libvirt resource carries, for the pack. */
export function layoutProps(layout: ResolvedLayout): { hostMemoryMiB?: number } {
  return layout.host.memory === undefined ? {} : { hostMemoryMiB: layout.host.memory };
}
