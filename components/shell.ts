// What the public component classes are: thin shells over compile.ts's nodes.
// A class made by the Layout gets the children the Layout compiled; one made
// on its own by a program compiles its own, with its `pool` and `dependsOn`.
import * as pulumi from "./sdk";
import type { QubeClass } from "../layout/model";
import { compileQube, qubeType, type Node, type Wiring } from "./compile";
import { givenWiring, instantiateChildren } from "./instantiate";
import type { QubeArgs } from "./qube";
import type { Domain, NwFilter, Volume } from "./resources";

/** Every template and qube component: its seed, its filter (with a netvm) and its domain; the rest per class. */
export abstract class CompiledComponent extends pulumi.ComponentResource {
  declare readonly seed: Volume;
  /** Only with a netvm (for a NetVM or a template: valid, but a policy violation). */
  declare readonly filter?: NwFilter;
  declare readonly domain: Domain;

  protected constructor(
    type: string,
    name: string,
    args: { readonly pool?: pulumi.Input<pulumi.Resource>; readonly dependsOn?: pulumi.Input<pulumi.Resource>[] },
    compile: (wiring: Wiring) => Node[],
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(type, name, {}, opts);
    const { parts, outputs } = instantiateChildren(this, name, args, () => {
      const { wiring, given } = givenWiring(args.pool, args.dependsOn);
      return { nodes: compile(wiring), given };
    });
    Object.assign(this, parts);
    this.registerOutputs(outputs);
  }
}

/** A qube of class `cls`: its parts are QUBE_PARTS[cls] (compile.ts). */
export abstract class QubeComponent extends CompiledComponent {
  protected constructor(cls: QubeClass, name: string, args: QubeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(qubeType(cls), name, args, (wiring) => compileQube(args.host, args.layoutSource, args.qube, args.template, name, wiring, {}, cls), opts);
  }
}
