// Deterministic addressing, as Qubes does it: qubes in 10.137.0.0/16, DispVMs in
// 10.138.0.0/16, DNS at the virtual pair 10.139.1.1/2. A client's host number comes
// from a hash of its name, so adding a qube elsewhere does not renumber this one; MACs
// come from a hash too, and both are made unique (claimSlots) rather than trusted to be.
import { createHash } from "node:crypto";
import { compareNames } from "./errors";
import type { ProvidedNetwork, QubeAddressing, QubeClass } from "./model";

export const DNS_SERVERS = ["10.139.1.1", "10.139.1.2"] as const;
export const MAX_PROVIDERS = 256;
/** Host numbers 2..254: .1 is the provider, .255 broadcast. */
export const MAX_CLIENTS_PER_SUBNET = 253;

export interface AddressInput {
  name: string;
  /** A template is numbered as a qube (it has no address in Qubes, but one with a netvm needs one here). */
  class: QubeClass | "TemplateVM";
  netvm: string | null;
  /** A NetVM with an uplink interface (network, bridge, macvtap; not pci). */
  uplink?: boolean;
}

export interface AddressPlan {
  /** Per networked qube (netvm not null). */
  addressing: Map<string, QubeAddressing>;
  /** Per provider (NetVM, ProxyVM). */
  provides: Map<string, ProvidedNetwork>;
  /** Per NetVM with an uplink interface: that interface's MAC. */
  uplinkMacs: Map<string, string>;
  /** Layouts too big to number; `qube` names who to blame. */
  problems: { qube: string; message: string }[];
}

/** 32-bit FNV-1a over the UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** `52:54:00:` (QEMU's OUI) + the first three bytes of sha256(seed): where a MAC starts looking. */
export function macFor(seed: string): string {
  return macString(macSlot(seed));
}

const MAC_SPACE = 2 ** 24;

function macSlot(seed: string): number {
  return createHash("sha256").update(seed, "utf8").digest().readUIntBE(0, 3);
}

function macString(slot: number): string {
  const tail = [16, 8, 0].map((shift) => ((slot >> shift) & 0xff).toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}

/**
 * Gives every key its own slot: first each key's preferred slot, contested ones going to the
 * first key by name, then the others, by name, the next free slot up (wrapping). A key whose
 * preferred slot nobody else wants keeps it whatever else the layout holds, and a newcomer can
 * move only a key it collides with, never one holding its own preferred slot.
 */
export function claimSlots(keys: readonly string[], preferred: (key: string) => number, next: (slot: number) => number, size: number): Map<string, number> {
  if (keys.length > size) throw new Error(`${keys.length} keys cannot have distinct slots among ${size}`);
  const holder = new Map<number, string>();
  const out = new Map<string, number>();
  const waiting: string[] = [];
  for (const key of [...keys].sort(compareNames)) {
    const slot = preferred(key);
    if (holder.has(slot)) {
      waiting.push(key);
    } else {
      holder.set(slot, key);
      out.set(key, slot);
    }
  }
  for (const key of waiting) {
    let slot = next(preferred(key));
    while (holder.has(slot)) slot = next(slot);
    holder.set(slot, key);
    out.set(key, slot);
  }
  return out;
}

/** Host numbers 2..254 for clients of one subnet: hash slot, else the next free one up, wrapping. */
export function hostNumbers(names: string[]): Map<string, number> {
  return claimSlots(names, (name) => 2 + (fnv1a32(name) % MAX_CLIENTS_PER_SUBNET), (host) => (host === 254 ? 2 : host + 1), MAX_CLIENTS_PER_SUBNET);
}

/** Distinct MACs for distinct seeds: sha256's pick, else the next free one up. */
export function uniqueMacs(seeds: readonly string[]): Map<string, string> {
  const slots = claimSlots(seeds, macSlot, (slot) => (slot + 1) % MAC_SPACE, MAC_SPACE);
  return new Map([...slots].map(([seed, slot]) => [seed, macString(slot)]));
}

export const isProvider = (cls: QubeClass | "TemplateVM") => cls === "NetVM" || cls === "ProxyVM";

/** Assigns every provider its client subnets and every networked qube its address and MACs. */
export function assignAddresses(prefix: string, qubes: AddressInput[]): AddressPlan {
  const plan: AddressPlan = { addressing: new Map(), provides: new Map(), uplinkMacs: new Map(), problems: [] };
  const providers = qubes.filter((q) => isProvider(q.class)).map((q) => q.name).sort(compareNames);
  if (providers.length > MAX_PROVIDERS) {
    plan.problems.push({
      qube: providers[MAX_PROVIDERS],
      message: `${providers.length} qubes provide network (NetVM, ProxyVM); at most ${MAX_PROVIDERS} fit in 10.137.0.0/16`,
    });
    return plan;
  }
  // Every interface the layout makes gets a MAC no other of them has: a client's port, a
  // provider's port on its client network, a NetVM's uplink.
  const seeds: string[] = [];
  for (const q of qubes) {
    if (q.netvm !== null || q.uplink === true) seeds.push(`${prefix}${q.name}`);
  }
  for (const name of providers) seeds.push(`${prefix}${name}:clients`);
  const macs = uniqueMacs(seeds);
  const mac = (seed: string) => macs.get(seed) as string;
  for (const q of qubes) if (q.uplink === true) plan.uplinkMacs.set(q.name, mac(`${prefix}${q.name}`));

  const clientsOf = new Map<string, AddressInput[]>();
  for (const q of qubes) {
    if (q.netvm === null) continue;
    const list = clientsOf.get(q.netvm) ?? [];
    list.push(q);
    clientsOf.set(q.netvm, list);
  }
  providers.forEach((name, k) => {
    plan.provides.set(name, {
      network: `${prefix}${name}-clients`,
      subnet: `10.137.${k}.0/24`,
      gateway: `10.137.${k}.1`,
      dispvmSubnet: `10.138.${k}.0/24`,
      dispvmGateway: `10.138.${k}.1`,
      mac: mac(`${prefix}${name}:clients`),
    });
    for (const [second, disposable] of [[137, false], [138, true]] as const) {
      const clients = (clientsOf.get(name) ?? []).filter((q) => (q.class === "DispVM") === disposable).map((q) => q.name);
      if (clients.length > MAX_CLIENTS_PER_SUBNET) {
        plan.problems.push({
          qube: name,
          message: `${clients.length} ${disposable ? "DispVMs" : "qubes"} use ${name} as netvm; at most ${MAX_CLIENTS_PER_SUBNET} fit in 10.${second}.${k}.0/24: move some behind another ProxyVM`,
        });
        continue;
      }
      for (const [client, host] of hostNumbers(clients)) {
        plan.addressing.set(client, {
          ip: `10.${second}.${k}.${host}`,
          prefix: 24,
          gateway: `10.${second}.${k}.1`,
          dns: [...DNS_SERVERS],
          mac: mac(`${prefix}${client}`),
        });
      }
    }
  });
  return plan;
}
