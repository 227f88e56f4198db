// Who provides which network, derived from the wiring alone: a network's
// provider is the NetVM/ProxyVM whose own port on it is not isolated; every
// other port on it is a client. The metadata's `netvm` is only a claim.
import { isKnown, type DomainModel, type HostModel, type InterfaceModel, type NetworkModel, type QubeClass } from "./model";

export const PROVIDER_CLASSES: ReadonlySet<QubeClass> = new Set<QubeClass>(["NetVM", "ProxyVM"]);

// Roles, as Qubes treats qubes (by what they do, not only by class).

/** Gives network to clients: a NetVM or ProxyVM, or a qube with provides_network (a VPN, a disposable sys-firewall). */
export const isProvider = (d: DomainModel): boolean => PROVIDER_CLASSES.has(d.class) || d.providesNetwork;

/** Owns the outside link, so a netvm chain may end there: a NetVM, or a disposable sys-net (a providing DispVM without netvm). */
export const isNetRole = (d: DomainModel): boolean => d.class === "NetVM" || (d.class === "DispVM" && d.providesNetwork && d.netvm === undefined);

/** Holds the USB controllers: a UsbVM, or a disposable sys-usb (a DispVM without netvm that provides no network). */
export const isUsbRole = (d: DomainModel): boolean => d.class === "UsbVM" || (d.class === "DispVM" && !d.providesNetwork && d.netvm === undefined);

export interface Attachment {
  domain: DomainModel;
  iface: InterfaceModel;
}

export const isProviderPort = (i: InterfaceModel): boolean => i.type === "network" && i.portIsolated === false;

export const byQube = (a: DomainModel, b: DomainModel): number =>
  a.qube < b.qube ? -1 : a.qube > b.qube ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

export function sortedDomains(model: HostModel): DomainModel[] {
  return [...model.domains].sort(byQube);
}

/** Every port on a libvirt network, in the model's order. */
export function attachments(model: HostModel, network: string): Attachment[] {
  const out: Attachment[] = [];
  for (const domain of model.domains) {
    for (const iface of domain.interfaces) {
      if (iface.type === "network" && iface.network === network) out.push({ domain, iface });
    }
  }
  return out;
}

/** Distinct providers (by role) holding a non-isolated port on the network, sorted by qube. */
export function providersOf(model: HostModel, network: string): DomainModel[] {
  const found = attachments(model, network)
    .filter((a) => isProviderPort(a.iface) && isProvider(a.domain))
    .map((a) => a.domain);
  return [...new Set(found)].sort(byQube);
}

/**
 * Interfaces through which a domain is a client: all but a NetVM's/ProxyVM's own provider ports
 * (another class's non-isolated port is a misconfigured client port, still a client's).
 */
export function clientInterfaces(domain: DomainModel): InterfaceModel[] {
  return domain.interfaces.filter((i) => !(isProviderPort(i) && isProvider(domain)));
}

/** The qubes a domain actually gets network from (more than one is itself a fault). */
export function netvmsOf(model: HostModel, domain: DomainModel): DomainModel[] {
  const found: DomainModel[] = [];
  for (const iface of clientInterfaces(domain)) {
    if (iface.type !== "network" || !isKnown(iface.network)) continue;
    // A provider on its own client network is its own netvm: a loop netvm-graph reports.
    found.push(...providersOf(model, iface.network));
  }
  return [...new Set(found)].sort(byQube);
}

/**
 * A network qubes face: a provider serves on it, or a domain other than a NetVM is on it.
 * A network only NetVMs sit on as clients is an uplink, outside the qubes' world.
 */
export function isQubeFacing(model: HostModel, network: string): boolean {
  return attachments(model, network).some((a) => isProviderPort(a.iface) || a.domain.class !== "NetVM");
}

export function qubeFacingNetworks(model: HostModel): NetworkModel[] {
  return [...model.networks].filter((n) => isQubeFacing(model, n.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The qube a finding about a network is filed under: its provider, else the first qube on it. */
export function networkOwner(model: HostModel, network: string): string {
  const providers = providersOf(model, network);
  if (providers.length > 0) return providers[0].qube;
  const on = attachments(model, network).map((a) => a.domain).sort(byQube);
  return on.length > 0 ? on[0].qube : network;
}

/** Resolves a qube name as the metadata uses it, preferring the same layout on a shared host. */
export function findQube(model: HostModel, qube: string, layout?: string): DomainModel | undefined {
  const all = model.domains.filter((d) => d.qube === qube);
  return all.find((d) => d.layout === layout) ?? all[0];
}

export function describeInterface(i: InterfaceModel): string {
  if (i.type === "bridge") return `host bridge "${i.bridge ?? ""}"`;
  if (i.type === "direct") return `host device "${i.dev ?? ""}" (macvtap)`;
  return `network "${i.network ?? ""}"`;
}

export const list = (xs: readonly string[]): string => xs.join(", ");
