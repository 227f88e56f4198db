// bulkhead's components for a Pulumi program of one's own (`bulkhead/components`):
// a `Qubes` component takes the layout as typed TypeScript values (the contract's
// own input types, docs/layout.md, from the zod schema) instead of a YAML file,
// validates and resolves them exactly as the loader does, and builds the same
// libvirt resources as `bulkhead`'s program. The resolved model stays internal.
import * as pulumi from "./sdk";
import { LayoutError, formatIssue } from "../layout/errors";
import { friendlyIssues, type RawIssue } from "../layout/issues";
import type { ResolvedLayout } from "../layout/model";
import { resolveLayout } from "../layout/resolve";
import { layoutSchema, type RawLayoutInput } from "../layout/schema";
import { Layout, type QubeOutputs } from "./layout";

/** A whole layout, as docs/layout.md describes it (the YAML's shape, typed). */
export type LayoutInput = RawLayoutInput;
export type HostInput = NonNullable<LayoutInput["host"]>;
export type DefaultsInput = NonNullable<LayoutInput["defaults"]>;
export type TemplateInput = LayoutInput["templates"][string];
export type QubeInput = NonNullable<LayoutInput["qubes"]>[string];
export type FirewallRuleInput = NonNullable<QubeInput["firewall"]>[number];
export type { QubeOutputs };

export interface QubesArgs {
  /** The templates and qubes, with host and defaults, as in a layout file. */
  readonly layout: LayoutInput;
  /** libvirt URI that overrides `layout.host.uri`. */
  readonly uri?: string;
  /** Recorded in each domain's metadata as the layout it came from (default `program:<name>`). */
  readonly source?: string;
  /** Epoch seconds for firewall `expire` (default: now). */
  readonly now?: number;
}

/**
 * Validates and resolves a layout given as values; throws a LayoutError naming each path and
 * how to fix it (no lines: there is no file).
 */
export function resolveLayoutInput(input: LayoutInput, source: string, now = Math.floor(Date.now() / 1000)): ResolvedLayout {
  const located = (raw: RawIssue[]) => raw.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const checked = layoutSchema.safeParse(input);
  if (!checked.success) throw new LayoutError(located(checked.error.issues.flatMap((i) => friendlyIssues(i, input, layoutSchema))));
  const resolved = resolveLayout(checked.data, source, now);
  if (!resolved.ok) throw new LayoutError(located(resolved.issues));
  return resolved.layout;
}

/** Every template and qube of a layout on one libvirt host, as bulkhead's own program makes them. */
export class Qubes extends pulumi.ComponentResource {
  /** Per qube and template: libvirt name, uuid, class, netvm, address, MAC, template, label, autostart. */
  public readonly qubes: pulumi.Output<Record<string, QubeOutputs>>;

  constructor(name: string, args: QubesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("bulkhead:index:Qubes", name, {}, opts);
    let layout: ResolvedLayout;
    try {
      layout = resolveLayoutInput(args.layout, args.source ?? `program:${name}`, args.now);
    } catch (error) {
      if (!(error instanceof LayoutError)) throw error;
      throw new pulumi.RunError(`${name}: invalid layout:\n${error.issues.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
    }
    const inner = new Layout(name, { layout, uri: args.uri }, { parent: this });
    this.qubes = inner.qubes;
    this.registerOutputs({ qubes: this.qubes });
  }
}
