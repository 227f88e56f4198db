import { describe, expect, test } from "vitest";
import { layoutToDot, renderSvg } from "../../render/graph";
import { parseLayout } from "../../layout/load";

const yaml = `
version: 1
defaults: { template: deb, netvm: sys-firewall }
templates:
  deb: { image: /var/lib/libvirt/images/deb.qcow2 }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { bridge: br0 } }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net }
  sys-usb: { class: UsbVM, label: red, devices: { pci: ["0000:00:14.0"], usb: ["046d:c52b"] } }
  dvm: { class: AppVM, label: red, template_for_dispvms: true }
  untrusted: { class: DispVM, label: red, template: dvm }
`;
const layout = parseLayout(yaml, "inline.yaml", { now: 1700000000 });
const lines = layoutToDot(layout).split("\n");

describe("layoutToDot", () => {
  test("the host and the NetVM's uplink", () => {
    expect(lines).toContain('  "host" [label="libvirt host\\nqemu:///system", shape="box3d", style="filled", fillcolor="#eeeeec"];');
    expect(lines).toContain('  "uplink:sys-net:0" [label="host bridge br0", shape="rect", style="filled", fillcolor="#d3d7cf", fontsize="9"];');
    expect(lines).toContain('  "host" -> "uplink:sys-net:0" [penwidth="1.5"];');
    expect(lines).toContain('  "uplink:sys-net:0" -> "qube:sys-net" [label="uplink", penwidth="1.5"];');
  });

  test("a node per template and qube, coloured by label and shaped by class", () => {
    expect(lines).toContain('  "template:deb" [label="deb\\nTemplateVM", shape="cylinder", style="filled", fillcolor="#000000", fontcolor="#ffffff"];');
    expect(lines).toContain(
      '  "qube:sys-firewall" [label="sys-firewall\\nProxyVM 10.137.1.25", shape="octagon", style="filled", fillcolor="#73d216", fontcolor="#000000"];',
    );
    expect(lines).toContain('  "qube:sys-usb" [label="sys-usb\\nUsbVM offline", shape="component", style="filled", fillcolor="#cc0000", fontcolor="#ffffff"];');
    const nodes = lines.filter((l) => /^ {2}"(template|qube):[^"]*" \[/.test(l)).map((l) => l.split('"')[1]);
    expect(nodes).toEqual(["template:deb", ...layout.qubes.map((q) => `qube:${q.name}`)]);
  });

  test("netvm edges are solid and name the client network", () => {
    expect(lines).toContain('  "qube:sys-net" -> "qube:sys-firewall" [label="sys-net-clients", penwidth="1.5"];');
    expect(lines).toContain('  "qube:sys-firewall" -> "qube:untrusted" [label="sys-firewall-clients", penwidth="1.5"];');
  });

  test("template edges are dashed; a DispVM's comes from its AppVM", () => {
    expect(lines).toContain('  "template:deb" -> "qube:dvm" [style="dashed", color="#888a85", arrowhead="empty"];');
    expect(lines).toContain('  "qube:dvm" -> "qube:untrusted" [style="dashed", color="#888a85", arrowhead="empty"];');
  });

  test("devices hang off their qube", () => {
    expect(lines).toContain('  "device:sys-usb:pci:0000:00:14.0" -> "qube:sys-usb" [arrowhead="none", style="bold", color="#8f5902"];');
    expect(lines.filter((l) => l.startsWith('  "device:sys-usb:usb:'))).toEqual([
      '  "device:sys-usb:usb:046d:c52b" [label="USB 046d:c52b", shape="note", style="filled", fillcolor="#fcf8e3", fontsize="9", height="0.3"];',
      '  "device:sys-usb:usb:046d:c52b" -> "qube:sys-usb" [arrowhead="none", style="bold", color="#8f5902"];',
    ]);
  });
});

describe("renderSvg", () => {
  test("a quote in a value stays text, never DOT syntax", async () => {
    const hostile = { ...layout, host: { ...layout.host, uri: 'qemu+ssh://x/system"]; "evil' } };
    const svg = await renderSvg(layoutToDot(hostile));
    expect(svg).toContain("qemu+ssh://x/system&quot;]; &quot;evil");
    expect(svg).not.toContain("<title>evil</title>");
  });
});
