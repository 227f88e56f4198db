import { describe, expect, it } from "vitest";
import { Layout } from "../../components/layout";
import { simulateLayout, simulateProgram } from "../../components/simulate";
import type { ResolvedLayout } from "../../layout/model";
import { debian, example, host, vault } from "./fixtures";
import { byName, dependencyNames, inputs } from "./sim";

describe("Layout", () => {
  it("creates the pool, the template and every qube with exactly their libvirt resources", async () => {
    const resources = await simulateLayout(example);
    expect(resources.filter((r) => r.custom).map((r) => `${r.type} ${r.inputs.name}`).sort()).toEqual([
      "bulkhead:libvirt:Domain debian-12",
      "bulkhead:libvirt:Domain dvm",
      "bulkhead:libvirt:Domain legacy",
      "bulkhead:libvirt:Domain sys-firewall",
      "bulkhead:libvirt:Domain sys-net",
      "bulkhead:libvirt:Domain sys-usb",
      "bulkhead:libvirt:Domain untrusted",
      "bulkhead:libvirt:Domain vault",
      "bulkhead:libvirt:Domain work",
      "bulkhead:libvirt:Network sys-firewall-clients",
      "bulkhead:libvirt:Network sys-net-clients",
      "bulkhead:libvirt:NwFilter dvm-fw",
      "bulkhead:libvirt:NwFilter legacy-fw",
      "bulkhead:libvirt:NwFilter sys-firewall-fw",
      "bulkhead:libvirt:NwFilter untrusted-fw",
      "bulkhead:libvirt:NwFilter work-fw",
      "bulkhead:libvirt:Pool bulkhead",
      "bulkhead:libvirt:Volume debian-12-root.qcow2",
      "bulkhead:libvirt:Volume debian-12-seed.iso",
      "bulkhead:libvirt:Volume dvm-private.qcow2",
      "bulkhead:libvirt:Volume dvm-seed.iso",
      "bulkhead:libvirt:Volume legacy-private.qcow2",
      "bulkhead:libvirt:Volume legacy-root.qcow2",
      "bulkhead:libvirt:Volume legacy-seed.iso",
      "bulkhead:libvirt:Volume sys-firewall-private.qcow2",
      "bulkhead:libvirt:Volume sys-firewall-seed.iso",
      "bulkhead:libvirt:Volume sys-net-private.qcow2",
      "bulkhead:libvirt:Volume sys-net-seed.iso",
      "bulkhead:libvirt:Volume sys-usb-private.qcow2",
      "bulkhead:libvirt:Volume sys-usb-seed.iso",
      "bulkhead:libvirt:Volume untrusted-seed.iso",
      "bulkhead:libvirt:Volume vault-private.qcow2",
      "bulkhead:libvirt:Volume vault-seed.iso",
      "bulkhead:libvirt:Volume work-private.qcow2",
      "bulkhead:libvirt:Volume work-seed.iso",
    ]);
    expect(resources.filter((r) => !r.custom).map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "bulkhead:qubes:AppVM bulkhead-dvm",
      "bulkhead:qubes:AppVM bulkhead-vault",
      "bulkhead:qubes:AppVM bulkhead-work",
      "bulkhead:qubes:DispVM bulkhead-untrusted",
      "bulkhead:qubes:Layout bulkhead",
      "bulkhead:qubes:NetVM bulkhead-sys-net",
      "bulkhead:qubes:ProxyVM bulkhead-sys-firewall",
      "bulkhead:qubes:StandaloneVM bulkhead-legacy",
      "bulkhead:qubes:TemplateVM bulkhead-debian-12",
      "bulkhead:qubes:UsbVM bulkhead-sys-usb",
      "pulumi:pulumi:Stack bulkhead-simulate",
    ]);
    expect(inputs(resources, "bulkhead-pool")).toEqual({
      uri: "qemu:///system",
      name: "bulkhead",
      type: "dir",
      target: { path: "/var/lib/libvirt/bulkhead" },
      autostart: true,
    });
  });

  it("wires each domain after its template root, its netvm's network and its filter; volumes after the pool", async () => {
    const resources = await simulateLayout(example);
    expect(dependencyNames(resources, "bulkhead-work-domain")).toEqual([
      "bulkhead-debian-12-root",
      "bulkhead-sys-firewall-clients",
      "bulkhead-work-fw",
      "bulkhead-work-private",
      "bulkhead-work-seed",
    ]);
    expect(dependencyNames(resources, "bulkhead-untrusted-domain")).toEqual([
      "bulkhead-debian-12-root",
      "bulkhead-dvm-private",
      "bulkhead-sys-firewall-clients",
      "bulkhead-untrusted-fw",
      "bulkhead-untrusted-seed",
    ]);
    expect(dependencyNames(resources, "bulkhead-sys-firewall-domain")).toEqual([
      "bulkhead-debian-12-root",
      "bulkhead-sys-firewall-clients",
      "bulkhead-sys-firewall-fw",
      "bulkhead-sys-firewall-private",
      "bulkhead-sys-firewall-seed",
      "bulkhead-sys-net-clients",
    ]);
    expect(dependencyNames(resources, "bulkhead-legacy-domain")).toEqual([
      "bulkhead-legacy-fw",
      "bulkhead-legacy-private",
      "bulkhead-legacy-root",
      "bulkhead-legacy-seed",
      "bulkhead-sys-firewall-clients",
    ]);
    expect(dependencyNames(resources, "bulkhead-debian-12-root")).toEqual(["bulkhead-pool"]);
  });

  it("lets a template wait for a netvm declared after it", async () => {
    const layout: ResolvedLayout = { ...example, templates: [{ ...debian, netvm: "sys-firewall" }] };
    const resources = await simulateLayout(layout);
    expect(dependencyNames(resources, "bulkhead-debian-12-domain")).toEqual([
      "bulkhead-debian-12-fw",
      "bulkhead-debian-12-root",
      "bulkhead-debian-12-seed",
      "bulkhead-sys-firewall-clients",
    ]);
  });

  it("exports, per qube and template, name, uuid, class, netvm, address, MAC, template, label, autostart", async () => {
    const { outputs } = await simulateProgram(() => ({ qubes: new Layout("bulkhead", { layout: example }).qubes }), host);
    const qubes = outputs.qubes as Record<string, Record<string, unknown>>;
    expect(Object.keys(qubes).sort()).toEqual(["debian-12", "dvm", "legacy", "sys-firewall", "sys-net", "sys-usb", "untrusted", "vault", "work"]);
    expect(qubes.work).toEqual({
      name: "work",
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/),
      class: "AppVM",
      netvm: "sys-firewall",
      ip: "10.137.1.2",
      mac: "52:54:00:00:e1:3e",
      template: "debian-12",
      label: "blue",
      autostart: false,
      network: null,
    });
    expect({ ...qubes["sys-net"], uuid: "-" }).toEqual({
      name: "sys-net",
      uuid: "-",
      class: "NetVM",
      netvm: null,
      ip: null,
      mac: "52:54:00:26:73:ae",
      template: "debian-12",
      label: "red",
      autostart: true,
      network: "sys-net-clients",
    });
    expect({ ...qubes["debian-12"], uuid: "-" }).toEqual({
      name: "debian-12",
      uuid: "-",
      class: "TemplateVM",
      netvm: null,
      ip: null,
      mac: null,
      template: null,
      label: "black",
      autostart: false,
      network: null,
    });
    expect(qubes.untrusted).toMatchObject({ class: "DispVM", template: "dvm", ip: "10.138.1.2" });
  });

  it("puts the URI override on every libvirt resource", async () => {
    const resources = await simulateLayout(example, { uri: "qemu+ssh://root@lab1/system" });
    const uris = new Set(resources.filter((r) => r.custom).map((r) => r.inputs.uri));
    expect([...uris]).toEqual(["qemu+ssh://root@lab1/system"]);
  });

  it("applies the host prefix to every libvirt name and path", async () => {
    const layout: ResolvedLayout = {
      source: "stacks/lab.yaml",
      host: { ...host, prefix: "lab-", domainType: "qemu", pool: "lab", poolPath: "/srv/lab" },
      templates: [debian],
      qubes: [vault],
    };
    const resources = await simulateLayout(layout);
    expect(resources.filter((r) => r.custom).map((r) => String(r.inputs.name)).sort()).toEqual([
      "lab",
      "lab-debian-12",
      "lab-debian-12-root.qcow2",
      "lab-debian-12-seed.iso",
      "lab-vault",
      "lab-vault-private.qcow2",
      "lab-vault-seed.iso",
    ]);
    expect(byName(resources, "bulkhead-vault-domain").inputs).toMatchObject({
      type: "qemu",
      metadata: { qube: "vault", layout: "stacks/lab.yaml" },
      devices: {
        disks: [
          { source: { file: "/srv/lab/lab-debian-12-root.qcow2" } },
          { source: { file: "/srv/lab/lab-vault-private.qcow2" } },
          { source: { file: "/srv/lab/lab-vault-seed.iso" } },
        ],
        serials: [{ type: "file", source: { path: "/var/log/libvirt/qemu/lab-vault.serial.log" }, target: { port: 0 } }],
      },
    });
  });
});
