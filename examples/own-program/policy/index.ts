// A policy pack of one's own: bulkhead's policies with this site's settings
// (AwsGuard style). Every policy mandatory, the host bridge accepted (this lab's
// NetVM has no NIC to pass through), and the host's memory for the budget.
import { BulkheadGuard } from "bulkhead/policies";

new BulkheadGuard({
  all: "mandatory",
  "uplink-host-isolated": "disabled",
  "memory-budget": { hostMemoryMiB: 2048 },
});
