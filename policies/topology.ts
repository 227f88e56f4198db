// Who provides which network, derived from the wiring alone: a network's
// provider is the NetVM/ProxyVM whose own port on it is not isolated; every
// other port on it is a client. The metadata's `netvm` is only a claim.
import { isKnown, type DomainModel, type FilterModel, type HostModel, type InterfaceModel, type NetworkModel, type QubeClass } from "./model";

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

const sorted = new WeakMap<HostModel, readonly DomainModel[]>();

/** The domains by qube name: sorted once per model (a dozen rules ask), a fresh copy each time. */
export function sortedDomains(model: HostModel): DomainModel[] {
  let domains = sorted.get(model);
  if (domains === undefined) {
    domains = [...model.domains].sort(byQube);
    sorted.set(model, domains);
  }
  return [...domains];
}

/**
 * Lookups every rule needs, built once per model in one pass: per network its ports and
 * providers, per qube its domains, per filter name the filter, per domain its netvms. A
 * HostModel is never changed after it is built, so the index stays true; without it each
 * rule asked "who is on this network" (or "which filter has this name") of every domain, which is quadratic (minutes at 5,000).
 */
interface Index {
  ports: Map<string, Attachment[]>;
  providers: Map<string, DomainModel[]>;
  qubes: Map<string, DomainModel[]>;
  filters: Map<string, FilterModel>;
  networks: Map<string, NetworkModel>;
  netvms: Map<DomainModel, DomainModel[]>;
}

const indexes = new WeakMap<HostModel, Index>();

function indexOf(model: HostModel): Index {
  let index = indexes.get(model);
  if (index !== undefined) return index;
  index = { ports: new Map(), providers: new Map(), qubes: new Map(), filters: new Map(), networks: new Map(), netvms: new Map() };
  for (const domain of model.domains) {
    const same = index.qubes.get(domain.qube);
    if (same === undefined) index.qubes.set(domain.qube, [domain]);
    else same.push(domain);
    for (const iface of domain.interfaces) {
      if (iface.type !== "network" || iface.network === undefined) continue;
      const on = index.ports.get(iface.network);
      if (on === undefined) index.ports.set(iface.network, [{ domain, iface }]);
      else on.push({ domain, iface });
    }
  }
  // The first filter of a name wins, as Array.find did.
  for (const f of model.filters) if (!index.filters.has(f.name)) index.filters.set(f.name, f);
  for (const n of model.networks) if (!index.networks.has(n.name)) index.networks.set(n.name, n);
  indexes.set(model, index);
  return index;
}

/** Every port on a libvirt network, in the model's order. */
export function attachments(model: HostModel, network: string): Attachment[] {
  return indexOf(model).ports.get(network) ?? [];
}

/** Distinct providers (by role) holding a non-isolated port on the network, sorted by qube. */
export function providersOf(model: HostModel, network: string): DomainModel[] {
  const index = indexOf(model);
  let found = index.providers.get(network);
  if (found === undefined) {
    const on = attachments(model, network)
      .filter((a) => isProviderPort(a.iface) && isProvider(a.domain))
      .map((a) => a.domain);
    found = [...new Set(on)].sort(byQube);
    index.providers.set(network, found);
  }
  return found;
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
  const index = indexOf(model);
  let netvms = index.netvms.get(domain);
  if (netvms === undefined) {
    const found: DomainModel[] = [];
    for (const iface of clientInterfaces(domain)) {
      if (iface.type !== "network" || !isKnown(iface.network)) continue;
      // A provider on its own client network is its own netvm: a loop netvm-graph reports.
      found.push(...providersOf(model, iface.network));
    }
    netvms = [...new Set(found)].sort(byQube);
    index.netvms.set(domain, netvms);
  }
  return netvms;
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
  const all = indexOf(model).qubes.get(qube) ?? [];
  return all.find((d) => d.layout === layout) ?? all[0];
}

/** The nwfilter of that name, if the model holds one. */
export function findFilter(model: HostModel, name: string): FilterModel | undefined {
  return indexOf(model).filters.get(name);
}

/** The libvirt network of that name, if the model holds one (the first, as Array.find gave). */
export function findNetwork(model: HostModel, name: string): NetworkModel | undefined {
  return indexOf(model).networks.get(name);
}

export function describeInterface(i: InterfaceModel): string {
  if (i.type === "bridge") return `host bridge "${i.bridge ?? ""}"`;
  if (i.type === "direct") return `host device "${i.dev ?? ""}" (macvtap)`;
  return `network "${i.network ?? ""}"`;
}

export const list = (xs: readonly string[]): string => xs.join(", ");
