// What the qube components share: their arguments, and the pure assembly of a
// qube's domain and filter inputs from the resolved layout.
import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import { domainArgs, privateDisk, rootDisk, seedDisk } from "./domain";
import { compileFirewall } from "./firewall";
import type { DiskSpec, DomainArgs, NetworkArgs, NwFilterArgs } from "../libvirt/types";
import { filterName, privateVolumeName, rootVolumeName, seedVolumeName, storageName, volumePath } from "./naming";
import { qubeNics } from "./nics";

export interface QubeArgs {
  /** Host the qube lives on (its `uri` already overridden where asked). */
  readonly host: ResolvedHost;
  /** Layout file the qube comes from, recorded in its domain's metadata. */
  readonly layoutSource: string;
  /** The qube as the loader resolved it. */
  readonly qube: ResolvedQube;
  /** The TemplateVM whose root image the qube boots (the qube's `rootTemplate`). */
  readonly template: ResolvedTemplate;
  /** The storage pool; every volume waits for it. */
  readonly pool?: pulumi.Input<pulumi.Resource>;
  /** What the domain waits for: template root, netvm's client network, a DispVM template's private volume. */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Which disks a qube gets, by class. */
export function qubeDisks(host: ResolvedHost, qube: ResolvedQube, template: ResolvedTemplate): DiskSpec[] {
  const path = (volume: string) => volumePath(host, volume);
  const seed = seedDisk(path(seedVolumeName(host, qube.name)));
  switch (qube.class) {
    case "StandaloneVM":
      // Its own full copy of the template's image, kept across shutdowns.
      return [
        rootDisk(path(rootVolumeName(host, storageName(qube))), template.format, false),
        privateDisk(path(privateVolumeName(host, storageName(qube))), false),
        seed,
      ];
    case "DispVM":
      // Both views are discarded at shutdown: a DispVM keeps nothing.
      return [
        rootDisk(path(rootVolumeName(host, template.name)), template.format, true),
        privateDisk(path(privateVolumeName(host, qube.templateStorage ?? qube.template)), true),
        seed,
      ];
    default:
      return [rootDisk(path(rootVolumeName(host, template.name)), template.format, true), privateDisk(path(privateVolumeName(host, storageName(qube))), false), seed];
  }
}

/** The qube's Domain inputs. */
export function qubeDomainArgs(host: ResolvedHost, layout: string, qube: ResolvedQube, template: ResolvedTemplate): DomainArgs {
  return domainArgs({
    host,
    layout,
    name: qube.name,
    class: qube.class,
    netvm: qube.netvm,
    template: qube.template,
    label: qube.label,
    providesNetwork: qube.providesNetwork,
    memory: qube.memory,
    maxmem: qube.maxmem,
    vcpus: qube.vcpus,
    boot: template.boot,
    kernelopts: qube.kernelopts,
    disks: qubeDisks(host, qube, template),
    interfaces: qubeNics(host, qube).map((n) => n.iface),
    devices: qubeDevices(qube),
    display: qube.display,
    autostart: qube.autostart,
    running: qube.autostart,
    guestAgent: template.guestAgent,
  });
}

/** Devices passed through: a NetVM's PCI uplink NICs, then `devices` (each address once). */
export function qubeDevices(qube: ResolvedQube): ResolvedQube["devices"] {
  const uplink = qube.uplink?.kind === "pci" ? qube.uplink.addresses : [];
  return { pci: [...new Set([...uplink, ...qube.devices.pci])], usb: qube.devices.usb };
}

/** The qube's egress filter, for a qube with a netvm. */
export function qubeFilterArgs(host: ResolvedHost, qube: ResolvedQube): NwFilterArgs {
  return compileFirewall({ uri: host.uri, name: filterName(host, qube.name), rules: qube.firewall, dns: qube.addressing?.dns });
}

/**
 * A provider's client network: no host address and no forward (the host
 * stays off qube networks), every port isolated but the provider's own.
 */
export function clientNetworkArgs(host: ResolvedHost, qube: ResolvedQube): NetworkArgs {
  if (qube.provides === undefined) throw new Error(`${qube.name}: this ${qube.class} provides no network`);
  return { uri: host.uri, name: qube.provides.network, port: { isolated: true }, autostart: true };
}
