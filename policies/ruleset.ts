// The pack's rules, in the order of the spec's table. Apart from pack.ts (which
// wraps them as CrossGuard policies) so that `evaluate`, and with it `bulkhead
// check`, loads neither @pulumi/policy nor @pulumi/pulumi.
import type { Rule } from "./rule";
import { rule as clientPortIsolation } from "./rules/client-port-isolation";
import { rule as clientsBehindProxy } from "./rules/clients-behind-proxy";
import { rule as deviceExclusive } from "./rules/device-exclusive";
import { rule as disposableStateless } from "./rules/disposable-stateless";
import { rule as egressFiltered } from "./rules/egress-filtered";
import { rule as firewallUnexpired } from "./rules/firewall-unexpired";
import { rule as hostOffQubeNetworks } from "./rules/host-off-qube-networks";
import { rule as memoryBudget } from "./rules/memory-budget";
import { rule as netvmGraph } from "./rules/netvm-graph";
import { rule as noRemoteDisplay } from "./rules/no-remote-display";
import { rule as offlineMeansNoNic } from "./rules/offline-means-no-nic";
import { rule as pciNetvmUsbvmOnly } from "./rules/pci-netvm-usbvm-only";
import { rule as rootFromTemplate } from "./rules/root-from-template";
import { rule as templateOffline } from "./rules/template-offline";
import { rule as uplinkHostIsolated } from "./rules/uplink-host-isolated";
import { rule as usbConfined } from "./rules/usb-confined";

export const rules: readonly Rule[] = [
  netvmGraph,
  clientsBehindProxy,
  templateOffline,
  offlineMeansNoNic,
  clientPortIsolation,
  hostOffQubeNetworks,
  egressFiltered,
  firewallUnexpired,
  pciNetvmUsbvmOnly,
  usbConfined,
  deviceExclusive,
  rootFromTemplate,
  disposableStateless,
  noRemoteDisplay,
  memoryBudget,
  uplinkHostIsolated,
];
