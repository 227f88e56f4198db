// The Pulumi components of bulkhead, one per Qubes class, and the Layout that
// assembles them; the pure builders are exported for the CLI and the tests.
export { AppVM, type AppVMArgs } from "./appvm";
export { DispVM, type DispVMArgs } from "./dispvm";
export { Layout, checkWiring, poolArgs, qubeOutputs, templateOutputs, type LayoutArgs, type QubeOutputs } from "./layout";
export { NetVM, type NetVMArgs } from "./netvm";
export { ProxyVM, type ProxyVMArgs } from "./proxyvm";
export { StandaloneVM, type StandaloneVMArgs } from "./standalonevm";
export { TemplateVM, templateDomainArgs, templateFilterArgs, type TemplateVMArgs } from "./templatevm";
export { UsbVM, type UsbVMArgs } from "./usbvm";
export { clientNetworkArgs, qubeDevices, qubeDisks, qubeDomainArgs, qubeFilterArgs, type QubeArgs } from "./qube";
export { compileFirewall, expandRule, finalDrop, QUBES_DNS, type FirewallFilterInput } from "./firewall";
export { bulkheadEnv, guestSeed, networkConfig, qubeGuest, qubeSeed, templateGuest, templateSeed, userData, type GuestSpec } from "./seed";
export { compileLayout, compileQube, compileResources, compileTemplate, QUBE_PARTS, TEMPLATE_PARTS, type Node } from "./compile";
export { mockOutputs, simulateLayout, simulateProgram, type SimulatedResource, type SimulateOptions, type Simulation } from "./simulate";
export * from "./naming";
