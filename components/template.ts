// The pure assembly of a TemplateVM's domain and filter inputs, as qube.ts is
// for qubes: no Pulumi here, so compile.ts can use it without loading the SDK.
import type { ResolvedHost, ResolvedTemplate } from "../layout/model";
import { domainArgs, rootDisk, seedDisk } from "./domain";
import { compileFirewall } from "./firewall";
import type { DomainArgs, NwFilterArgs } from "../libvirt/types";
import { filterName, rootVolumeName, seedVolumeName, volumePath } from "./naming";
import { templateNics } from "./nics";

export function templateDomainArgs(host: ResolvedHost, layout: string, template: ResolvedTemplate): DomainArgs {
  return domainArgs({
    host,
    layout,
    name: template.name,
    class: "TemplateVM",
    netvm: template.netvm,
    label: template.label,
    memory: template.memory,
    vcpus: template.vcpus,
    boot: template.boot,
    disks: [
      rootDisk(volumePath(host, rootVolumeName(host, template.name)), template.format, false),
      seedDisk(volumePath(host, seedVolumeName(host, template.name))),
    ],
    interfaces: templateNics(host, template).map((n) => n.iface),
    autostart: false,
    running: false,
    guestAgent: template.guestAgent,
  });
}

/** Qubes' default rule (accept) for a template that was given a netvm anyway. */
export function templateFilterArgs(host: ResolvedHost, template: ResolvedTemplate): NwFilterArgs {
  return compileFirewall({ uri: host.uri, name: filterName(host, template.name), rules: [{ action: "accept" }] });
}
