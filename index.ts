// The Pulumi program: one layout file -> one Layout component on one libvirt host.
import * as pulumi from "@pulumi/pulumi";
import { Layout } from "./components/layout";
import { loadLayout } from "./layout/load";

// The SDK captures a stack trace for every promise it makes, formatted through
// source maps, and reads it only for its promise-leak report: measured at 50
// qubes that was a quarter of the program's CPU time (bench/notes.md). Layout
// errors carry their own messages; BULKHEAD_STACK_TRACES=1 brings traces back.
if (process.env["BULKHEAD_STACK_TRACES"] !== "1") Error.stackTraceLimit = 0;

const config = new pulumi.Config("bulkhead");
// Pulumi.yaml declares both keys with default "", which means "not set".
const layoutPath = config.get("layout") || `stacks/${pulumi.getStack()}.yaml`;
const resolved = loadLayout(layoutPath);
const machine = new Layout("bulkhead", { layout: resolved, uri: config.get("uri") || undefined });

/** Per qube and template: libvirt name, uuid, class, netvm, address, MAC, template, label, autostart. */
export const qubes = machine.qubes;
/** The layout file this stack was deployed from. */
export const layout = layoutPath;
