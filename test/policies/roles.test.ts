// Qubes 4 roles: provides_network on an AppVM, StandaloneVM or DispVM, and a DispVM
// with devices as a disposable sys-usb/sys-net. The loader wires them by role, the
// components give each provider its client network, and the pack judges by role.
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compileResources } from "../../components/compile";
import { loadLayout, parseLayout } from "../../layout/load";
import { evaluate } from "../../policies/evaluate";
import { fromResources } from "../../policies/model";
import { layoutIssues } from "../layout/helpers";

const NOW = 1_700_000_000;
const roles = loadLayout(path.join(__dirname, "..", "fixtures", "valid", "roles.yaml"), { now: NOW });
const q = (name: string) => roles.qubes.find((x) => x.name === name)!;

describe("provides_network", () => {
  it("gives an AppVM, a StandaloneVM and a DispVM their own client network, and clients addresses on it", () => {
    expect(["sys-vpn", "pihole", "disp-fw"].map((n) => q(n).provides?.network)).toEqual(["sys-vpn-clients", "pihole-clients", "disp-fw-clients"]);
    expect(q("work").addressing?.gateway).toBe(q("sys-vpn").provides?.gateway);
    expect(q("media").addressing?.gateway).toBe(q("pihole").provides?.gateway);
    const resources = compileResources(roles);
    expect(resources.filter((r) => r.type === "bulkhead:libvirt:Network").map((r) => r.name).sort()).toEqual([
      "bulkhead-disp-fw-clients",
      "bulkhead-pihole-clients",
      "bulkhead-sys-firewall-clients",
      "bulkhead-sys-net-clients",
      "bulkhead-sys-vpn-clients",
    ]);
    const vpn = resources.find((r) => r.name === "bulkhead-sys-vpn-domain")!;
    expect((vpn.inputs.metadata as Record<string, unknown>).providesNetwork).toBe(true);
    expect(vpn.dependencies).toContain(resources.find((r) => r.name === "bulkhead-sys-vpn-clients")!.urn);
  });

  it("is refused where the class already decides it", () => {
    const base = "version: 1\ntemplates: { t: { image: /var/lib/libvirt/images/t.qcow2 } }\ndefaults: { template: t }\nqubes:\n  sys-net: { class: NetVM, uplink: { bridge: br0 } }\n";
    expect(layoutIssues(() => parseLayout(base + "  fw: { class: ProxyVM, netvm: sys-net, provides_network: true }\n  usb: { class: UsbVM, provides_network: false }\n", "t.yaml"))).toEqual([
      { path: "qubes.fw.provides_network", line: 6, message: "provides_network applies to an AppVM, StandaloneVM or DispVM; a ProxyVM provides network by its class: remove it" },
      { path: "qubes.usb.provides_network", line: 7, message: "provides_network applies to an AppVM, StandaloneVM or DispVM; a UsbVM has no network: remove it" },
    ]);
    expect(layoutIssues(() => parseLayout(base + "  work: { class: AppVM, netvm: sys-net }\n  other: { class: AppVM, netvm: work }\n", "t.yaml"))).toEqual([
      { path: "qubes.other.netvm", line: 7, message: '"work" is an AppVM and does not provide network; use a NetVM or ProxyVM, or set provides_network: true on it' },
    ]);
  });
});

describe("the pack judges by role", () => {
  it("the roles layout passes: a disposable sys-firewall on the NetVM, a VPN, a disposable sys-usb with a controller", () => {
    const config = { "usb-confined": { usbControllers: ["0000:00:14.0"] }, "firewall-unexpired": { now: NOW } };
    expect(evaluate(fromResources(compileResources(roles)), { config })).toEqual([]);
  });

  it("a DispVM with a netvm is no disposable sys-usb: its PCI device and USB controller are violations", () => {
    const text = `version: 1
templates: { t: { image: /var/lib/libvirt/images/t.qcow2 } }
defaults: { template: t, netvm: sys-firewall }
qubes:
  sys-net: { class: NetVM, uplink: { bridge: br0 } }
  sys-firewall: { class: ProxyVM, netvm: sys-net }
  dvm: { class: AppVM, template_for_dispvms: true }
  disp: { class: DispVM, template: dvm, devices: { pci: ["0000:00:14.0"] } }
  vpn: { class: AppVM, provides_network: true, netvm: sys-net }
  client: { class: AppVM, netvm: vpn }
  leaky: { class: AppVM, netvm: sys-net }
`;
    const found = evaluate(fromResources(compileResources(parseLayout(text, "t.yaml"))), { config: { "usb-confined": { usbControllers: ["0000:00:14.0"] } } });
    expect(found.filter((v) => v.level === "mandatory").map((v) => `${v.policy} ${v.qube}: ${v.message}`)).toEqual([
      'pci-netvm-usbvm-only disp: disp: DispVM "disp" has PCI device 0000:00:14.0 passed through; only NetVMs and UsbVMs take PCI devices: give network cards to a NetVM and USB controllers to a UsbVM',
      'usb-confined disp: disp: DispVM "disp" has USB controller 0000:00:14.0 passed through; give it to the UsbVM instead',
      // The VPN on the NetVM is a firewall qube, not a client; a plain AppVM there is.
      'clients-behind-proxy leaky: leaky: AppVM "leaky" connects straight to NetVM "sys-net"; give it netvm: sys-firewall (a ProxyVM)',
    ]);
  });
});
