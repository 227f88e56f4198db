// `bulkhead graph`: the layout as a picture. Nodes are the libvirt host, the
// NetVMs' uplinks, templates and qubes (filled with their Qubes label colour,
// shaped by class) and passed-through devices; solid edges carry network from
// a netvm to its clients, dashed edges show which template a qube boots from.
import type { Label, QubeClass, ResolvedLayout, ResolvedQube, Uplink } from "../layout/model";
import { edge, node, quote, type Attributes } from "./dot";

/** The Tango colours Qubes uses for its labels, and a text colour that reads on each. */
export const LABEL_COLOURS: Record<Label, { fill: string; font: string }> = {
  red: { fill: "#cc0000", font: "#ffffff" },
  orange: { fill: "#f57900", font: "#000000" },
  yellow: { fill: "#edd400", font: "#000000" },
  green: { fill: "#73d216", font: "#000000" },
  gray: { fill: "#555753", font: "#ffffff" },
  blue: { fill: "#3465a4", font: "#ffffff" },
  purple: { fill: "#75507b", font: "#ffffff" },
  black: { fill: "#000000", font: "#ffffff" },
};

type NodeClass = QubeClass | "TemplateVM";

/** Shape per class, so the role reads even in grey print. */
export const CLASS_SHAPES: Record<NodeClass, Attributes> = {
  TemplateVM: { shape: "cylinder", style: "filled" },
  NetVM: { shape: "hexagon", style: "filled" },
  ProxyVM: { shape: "octagon", style: "filled" },
  UsbVM: { shape: "component", style: "filled" },
  AppVM: { shape: "box", style: "rounded,filled" },
  DispVM: { shape: "box", style: "rounded,filled,dashed", penwidth: 2 },
  StandaloneVM: { shape: "box", style: "filled", peripheries: 2 },
};

const HOST = "host";
const templateId = (name: string) => `template:${name}`;
const qubeId = (name: string) => `qube:${name}`;

function uplinkNodes(q: ResolvedQube, uplink: Uplink): { id: string; label: string }[] {
  const id = (i: number) => `uplink:${q.name}:${i}`;
  switch (uplink.kind) {
    case "pci":
      return uplink.addresses.map((a, i) => ({ id: id(i), label: `PCI ${a}\nnetwork card` }));
    case "macvtap":
      return [{ id: id(0), label: `macvtap on ${uplink.dev}` }];
    case "bridge":
      return [{ id: id(0), label: `host bridge ${uplink.bridge}` }];
    case "network":
      return [{ id: id(0), label: `libvirt network\n${uplink.network}` }];
  }
}

function vmNode(id: string, name: string, cls: NodeClass, label: Label, detail: string): string {
  const colour = LABEL_COLOURS[label];
  return node(id, {
    label: detail === "" ? `${name}\n${cls}` : `${name}\n${cls} ${detail}`,
    ...CLASS_SHAPES[cls],
    fillcolor: colour.fill,
    fontcolor: colour.font,
  });
}

/** The qube's address, a NetVM's address on its client network, or "offline". */
function qubeDetail(q: ResolvedQube): string {
  return q.addressing?.ip ?? q.provides?.gateway ?? "offline";
}

/** The DOT text of a layout; deterministic (same layout, same text). */
export function layoutToDot(layout: ResolvedLayout): string {
  const lines: string[] = [
    `digraph ${quote("bulkhead")} {`,
    `  graph [rankdir="LR", label=${quote(`bulkhead layout ${layout.source}\nsolid: network from the netvm (client network name); dashed: root image from the template`)}, labelloc="t", fontname="Helvetica", fontsize="14", nodesep="0.3", ranksep="0.7"];`,
    `  node [fontname="Helvetica", fontsize="11", margin="0.2,0.08"];`,
    `  edge [fontname="Helvetica", fontsize="9", color="#2e3436", fontcolor="#2e3436"];`,
    node(HOST, { label: `libvirt host\n${layout.host.uri}`, shape: "box3d", style: "filled", fillcolor: "#eeeeec" }),
  ];
  const qubes = new Map(layout.qubes.map((q) => [q.name, q]));
  const clientNetwork = (netvm: string) => qubes.get(netvm)?.provides?.network ?? "";
  const netEdge = (from: string, to: string) =>
    edge(qubeId(from), to, { label: clientNetwork(from), penwidth: 1.5 });
  const templateEdge = (from: string, to: string) =>
    edge(from, to, { style: "dashed", color: "#888a85", arrowhead: "empty" });

  for (const t of layout.templates) {
    lines.push(vmNode(templateId(t.name), t.name, "TemplateVM", t.label, ""));
    if (t.netvm !== null) lines.push(netEdge(t.netvm, templateId(t.name)));
  }
  for (const q of layout.qubes) {
    lines.push(vmNode(qubeId(q.name), q.name, q.class, q.label, qubeDetail(q)));
    const from = q.class === "DispVM" ? qubeId(q.template) : templateId(q.template);
    lines.push(templateEdge(from, qubeId(q.name)));
    if (q.netvm !== null) lines.push(netEdge(q.netvm, qubeId(q.name)));
    if (q.uplink !== undefined) {
      for (const u of uplinkNodes(q, q.uplink)) {
        lines.push(node(u.id, { label: u.label, shape: "rect", style: "filled", fillcolor: "#d3d7cf", fontsize: 9 }));
        lines.push(edge(HOST, u.id, { penwidth: 1.5 }));
        lines.push(edge(u.id, qubeId(q.name), { label: "uplink", penwidth: 1.5 }));
      }
    }
    const devices = [
      ...q.devices.pci.map((a) => ({ id: `device:${q.name}:pci:${a}`, label: `PCI ${a}` })),
      ...q.devices.usb.map((u) => ({ id: `device:${q.name}:usb:${u.vendor}:${u.product}`, label: `USB ${u.vendor}:${u.product}` })),
    ];
    for (const d of devices) {
      lines.push(node(d.id, { label: d.label, shape: "note", style: "filled", fillcolor: "#fcf8e3", fontsize: 9, height: 0.3 }));
      lines.push(edge(d.id, qubeId(q.name), { arrowhead: "none", style: "bold", color: "#8f5902" }));
    }
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

/** Renders DOT with Graphviz compiled to WebAssembly: no system Graphviz needed. */
export async function renderSvg(dot: string): Promise<string> {
  // The package is ESM-only; a dynamic import loads it from this CommonJS build.
  const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
  const graphviz = await Graphviz.load();
  return graphviz.dot(dot, "svg");
}
