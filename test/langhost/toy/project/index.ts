// Toy Pulumi program for test/langhost/langhost.test.ts: a component, a dynamic resource (served
// by pulumi-resource-pulumi-nodejs) and a stack output, run by the real engine through bulkhead's
// language host. `toy:fail` exercises how the host reports a failed program.
import * as pulumi from "@pulumi/pulumi";

const counterProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { start: number }) {
    return { id: `counter-${inputs.start}`, outs: { start: inputs.start, value: inputs.start * 2 } };
  },
};

class Counter extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<number>;
  constructor(name: string, args: { start: number }, opts?: pulumi.CustomResourceOptions) {
    super(counterProvider, name, { start: args.start, value: undefined }, opts, "toy", "Counter");
  }
}

class Box extends pulumi.ComponentResource {
  readonly label: pulumi.Output<string>;
  constructor(name: string, args: { size: number }, opts?: pulumi.ComponentResourceOptions) {
    super("toy:index:Box", name, { size: args.size }, opts);
    const counter = new Counter(`${name}-counter`, { start: args.size }, { parent: this });
    this.label = counter.value.apply((v) => `${name}:${v}`);
    this.registerOutputs({ label: this.label });
  }
}

const size = new pulumi.Config().requireNumber("size");
export const label = new Box("box", { size }).label;

// A thrown error is reported by @pulumi/pulumi itself (exit 32: the host must only "bail");
// any other exit code is the host's to report.
const fail = new pulumi.Config().get("fail");
if (fail === "throw") throw new Error("toy failure");
if (fail === "exit") process.exit(3);
