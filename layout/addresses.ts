// Deterministic addressing, as Qubes does it: qubes in 10.137.0.0/16, DispVMs in
// 10.138.0.0/16, DNS at the virtual pair 10.139.1.1/2. A client's host number comes
// from a hash of its name, so adding a qube elsewhere does not renumber this one.
import { createHash } from "node:crypto";
import { compareNames } from "./errors";
import type { ProvidedNetwork, QubeAddressing, QubeClass } from "./model";

export const DNS_SERVERS = ["10.139.1.1", "10.139.1.2"] as const;
export const MAX_PROVIDERS = 256;
/** Host numbers 2..254: .1 is the provider, .255 broadcast. */
export const MAX_CLIENTS_PER_SUBNET = 253;

export interface AddressInput {
  name: string;
  class: QubeClass;
  netvm: string | null;
  /** `provides_network: true` on an AppVM, StandaloneVM or DispVM (a VPN, a disposable sys-firewall). */
  providesNetwork?: boolean;
}

export interface AddressPlan {
  /** Per networked qube (netvm not null). */
  addressing: Map<string, QubeAddressing>;
  /** Per provider (NetVM, ProxyVM). */
  provides: Map<string, ProvidedNetwork>;
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

/** `52:54:00:` (QEMU's OUI) + the first three bytes of sha256(seed). */
export function macFor(seed: string): string {
  const digest = createHash("sha256").update(seed, "utf8").digest();
  return ["52", "54", "00", ...[...digest.subarray(0, 3)].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** Host numbers for names sorted by name: hash slot, then the next free one up, wrapping. */
export function hostNumbers(names: string[]): Map<string, number> {
  const taken = new Set<number>();
  const out = new Map<string, number>();
  for (const name of [...names].sort(compareNames)) {
    let host = 2 + (fnv1a32(name) % MAX_CLIENTS_PER_SUBNET);
    while (taken.has(host)) host = host === 254 ? 2 : host + 1;
    taken.add(host);
    out.set(name, host);
  }
  return out;
}

/** A qube gives network to clients by role: a NetVM or ProxyVM by class, any other with `provides_network`. */
export const isProvider = (q: { class: QubeClass; providesNetwork?: boolean }): boolean =>
  q.class === "NetVM" || q.class === "ProxyVM" || q.providesNetwork === true;

/** Assigns every provider its client subnets and every networked qube its address. */
export function assignAddresses(prefix: string, qubes: AddressInput[]): AddressPlan {
  const plan: AddressPlan = { addressing: new Map(), provides: new Map(), problems: [] };
  const providers = qubes.filter((q) => isProvider(q)).map((q) => q.name).sort(compareNames);
  if (providers.length > MAX_PROVIDERS) {
    plan.problems.push({
      qube: providers[MAX_PROVIDERS],
      message: `${providers.length} qubes provide network (NetVM, ProxyVM, provides_network); at most ${MAX_PROVIDERS} fit in 10.137.0.0/16`,
    });
    return plan;
  }
  providers.forEach((name, k) => {
    plan.provides.set(name, {
      network: `${prefix}${name}-clients`,
      subnet: `10.137.${k}.0/24`,
      gateway: `10.137.${k}.1`,
      dispvmSubnet: `10.138.${k}.0/24`,
      dispvmGateway: `10.138.${k}.1`,
      mac: macFor(`${prefix}${name}:clients`),
    });
    for (const [second, disposable] of [[137, false], [138, true]] as const) {
      const clients = qubes.filter((q) => q.netvm === name && (q.class === "DispVM") === disposable).map((q) => q.name);
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
          mac: macFor(`${prefix}${client}`),
        });
      }
    }
  });
  return plan;
}
