// Entry point of the `pulumi-resource-bulkhead` plugin: serves the provider
// over gRPC and prints its port for the engine.
import { main } from "@pulumi/pulumi/provider";
import { BulkheadProvider } from "./provider";

// An engine killed with SIGKILL cannot stop its plugins; leave once it is gone
// rather than linger (a rerun's recovery removes what an interrupted create made).
const engine = process.ppid;
setInterval(() => {
  if (process.ppid !== engine) process.exit(1);
}, 1000).unref();

void main(new BulkheadProvider(), process.argv.slice(2));
