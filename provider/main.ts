// Entry point of the `pulumi-resource-bulkhead` plugin: serves the provider
// over gRPC and prints its port for the engine.
import { main } from "@pulumi/pulumi/provider";
import { BulkheadProvider } from "./provider";

void main(new BulkheadProvider(), process.argv.slice(2));
