// A Pulumi program of one's own: bulkhead's components with typed arguments
// (the layout format's own types, docs/layout.md), no YAML file and no loader.
import * as pulumi from "@pulumi/pulumi";
import { Qubes, type FirewallRuleInput, type QubeInput } from "bulkhead/components";

const config = new pulumi.Config();

const webOnly: FirewallRuleInput[] = [
  { action: "accept", specialtarget: "dns" },
  { action: "accept", proto: "tcp", dstports: "443" },
];

const work: QubeInput = {
  class: "AppVM",
  label: "blue",
  memory: config.getNumber("workMemory") ?? 400,
  autostart: true,
  firewall: webOnly,
};

const machine = new Qubes("example", {
  uri: config.get("uri"),
  layout: {
    version: 1,
    host: { prefix: "ex-", pool: "bulkhead-example", poolPath: "/var/lib/libvirt/bulkhead-example", domainType: "qemu", memory: 2048 },
    defaults: { template: "debian-12", netvm: "sys-firewall" },
    templates: { "debian-12": { image: "/var/lib/libvirt/images/debian-12.qcow2" } },
    qubes: {
      "sys-net": { class: "NetVM", label: "red", uplink: { bridge: "br0" }, netvm: null, autostart: true },
      "sys-firewall": { class: "ProxyVM", label: "green", netvm: "sys-net", autostart: true },
      work,
    },
  },
});

export const qubes = machine.qubes;
