// A qube's network interfaces, in domain order, with what its guest must
// configure on each. The domain (interfaces) and the seed (network-config,
// bulkhead.env) both read this one list, so interface i is the same NIC in both.
import type { QubeAddressing, ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import type { InterfaceSpec } from "../libvirt/types";
import { clientNetworkName, filterName, upstreamMac } from "./naming";

export type NicRole = "upstream" | "uplink" | "clients";

export interface Nic {
  /** upstream: towards the netvm; uplink: a NetVM's outside link; clients: a provider's own client network. */
  role: NicRole;
  iface: InterfaceSpec;
  /** Static addresses (CIDR) the guest sets; empty for DHCP or none. */
  addrs: string[];
  dhcp: boolean;
}

/** Interfaces of a qube: upstream or uplink first, then a provider's client port. */
export function qubeNics(host: ResolvedHost, qube: ResolvedQube): Nic[] {
  const nics: Nic[] = [];
  if (qube.netvm !== null) nics.push(upstreamNic(host, qube));
  if (qube.class === "NetVM" && qube.uplink !== undefined && qube.uplink.kind !== "pci") {
    nics.push({ role: "uplink", iface: uplinkInterface(host, qube), addrs: [], dhcp: true });
  }
  if (qube.provides !== undefined) nics.push(clientPortNic(qube));
  return nics;
}

/**
 * Templates are offline; one with a netvm (a policy violation, rendered
 * faithfully) gets a port on that netvm's network built like a client's, with
 * the address the loader gave it, so template-offline is the only finding.
 */
export function templateNics(host: ResolvedHost, template: ResolvedTemplate): Nic[] {
  if (template.netvm === null) return [];
  return [clientNic(host, template.name, template.netvm, template.addressing)];
}

/** A client's port on its netvm's network, behind its own filter (IP pinned for clean-traffic). */
function upstreamNic(host: ResolvedHost, qube: ResolvedQube): Nic {
  return clientNic(host, qube.name, qube.netvm as string, qube.addressing);
}

function clientNic(host: ResolvedHost, name: string, netvm: string, a: QubeAddressing | undefined): Nic {
  const iface: InterfaceSpec = {
    type: "network",
    source: { network: clientNetworkName(host, netvm) },
    mac: { address: a?.mac ?? upstreamMac(host, name) },
    model: { type: "virtio" },
    filterref: a ? { filter: filterName(host, name), parameters: { IP: a.ip } } : { filter: filterName(host, name) },
  };
  return { role: "upstream", iface, addrs: a ? [`${a.ip}/${a.prefix}`] : [], dhcp: false };
}

/**
 * A NetVM's outside link. A NetVM has no netvm, hence no filter: like Qubes'
 * sys-net it talks to the outside world unrestricted.
 */
export function uplinkInterface(host: ResolvedHost, qube: ResolvedQube): InterfaceSpec {
  const mac = { address: qube.uplinkMac ?? upstreamMac(host, qube.name) };
  const model = { type: "virtio" as const };
  const uplink = qube.uplink;
  switch (uplink?.kind) {
    case "network":
      return { type: "network", source: { network: uplink.network }, mac, model };
    case "bridge":
      return { type: "bridge", source: { bridge: uplink.bridge }, mac, model };
    case "macvtap":
      // `private`: macvtap never reaches the host itself, and private mode also
      // keeps the NetVM from other macvtap guests on the same device.
      return { type: "direct", source: { dev: uplink.dev, mode: "private" }, mac, model };
    default:
      throw new Error(`${qube.name}: no interface for uplink ${uplink?.kind ?? "(none)"}`);
  }
}

/**
 * The provider's port on its own client network: the only non-isolated port,
 * so every client reaches it and no client reaches another. It carries both
 * gateways (qubes' 10.137.k.1 and DispVMs' 10.138.k.1).
 */
function clientPortNic(qube: ResolvedQube): Nic {
  const p = qube.provides!;
  const iface: InterfaceSpec = {
    type: "network",
    source: { network: p.network },
    mac: { address: p.mac },
    model: { type: "virtio" },
    port: { isolated: false },
  };
  return {
    role: "clients",
    iface,
    addrs: [`${p.gateway}/${prefixOf(p.subnet)}`, `${p.dispvmGateway}/${prefixOf(p.dispvmSubnet)}`],
    dhcp: false,
  };
}

function prefixOf(cidr: string): number {
  return Number(cidr.split("/")[1]);
}
