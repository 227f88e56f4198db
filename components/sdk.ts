// The Pulumi SDK's values that the program and the components use, taken from
// the SDK's own modules. `@pulumi/pulumi`'s index also loads the automation API,
// dynamic providers and closure serialisation (npm's arborist, pacote, sigstore):
// about 1 s of CPU at every program start that a deploy never uses (measured
// with a CPU profile of the program during a no-op `pulumi up`; see
// BENCHMARKS.md). These are the same modules the index re-exports, so classes
// and `instanceof` are shared with any program that imports the index itself.
export { ComponentResource, CustomResource, Resource } from "@pulumi/pulumi/resource";
export { Output, output } from "@pulumi/pulumi/output";
export { RunError } from "@pulumi/pulumi/errors";
export { Config } from "@pulumi/pulumi/config";
export { getStack } from "@pulumi/pulumi/metadata";
export type { ComponentResourceOptions, CustomResourceOptions, Input, Inputs } from "@pulumi/pulumi";
