// Entry point of the `pulumi-resource-bulkhead` plugin: serves the provider
// over gRPC and prints its port for the engine.
import { main } from "@pulumi/pulumi/provider";
import { BulkheadProvider } from "./provider";
import { sessionsFromEnv } from "../libvirt/session";
import { useSessions } from "../libvirt/virsh";

// An engine killed with SIGKILL cannot stop its plugins; leave once it is gone
// rather than linger (a rerun's recovery removes what an interrupted create made).
const engine = process.ppid;
setInterval(() => {
  if (process.ppid !== engine) process.exit(1);
}, 1000).unref();

// One persistent virsh per URI instead of a process per call (BULKHEAD_VIRSH_SESSIONS=0: the old way).
useSessions(sessionsFromEnv(process.env, 1));

void main(new BulkheadProvider(), process.argv.slice(2));
