// The NoCloud seed of each qube: cloud-init files for real images, and
// `bulkhead.env` for the lab's busybox init. Pure. YAML comes from the `yaml`
// library in 1.1 mode, so values cloud-init's YAML 1.1 parser would misread
// (a MAC like 52:54:00:12:34:56 is a base-60 number there) are quoted.
import { Document, stringify } from "yaml";
import type { ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import type { BulkheadMetadata, NoCloudSeed } from "./libvirt/types";
import { domainName } from "./naming";
import { qubeNics, templateNics, type Nic } from "./nics";

/** What the guest needs to know to bring itself up. */
export interface GuestSpec {
  /** Layout name (the hostname). */
  name: string;
  class: BulkheadMetadata["class"];
  /** In domain interface order. */
  nics: Nic[];
  /** Default route, on-link, via the upstream interface. */
  gateway?: string;
  dns: string[];
  /** Set for a NetVM or ProxyVM. */
  provider?: {
    /** Interface to masquerade out of; absent for a PCI uplink (not a domain interface). */
    natIf?: number;
    clientIf: number;
    /** Where to DNAT Qubes' virtual DNS pair: addresses, or `dhcp` for the uplink's resolver. */
    dnsUpstream: string;
  };
}

export function qubeGuest(host: ResolvedHost, qube: ResolvedQube): GuestSpec {
  const nics = qubeNics(host, qube);
  const guest: GuestSpec = { name: qube.name, class: qube.class, nics, dns: qube.addressing?.dns ?? [] };
  if (qube.addressing !== undefined) guest.gateway = qube.addressing.gateway;
  if (qube.provides !== undefined) {
    const upstream = nics.findIndex((n) => n.role === "upstream" || n.role === "uplink");
    guest.provider = {
      clientIf: nics.findIndex((n) => n.role === "clients"),
      // A ProxyVM forwards to its own DNS pair; a NetVM to whatever DHCP gave its uplink.
      dnsUpstream: qube.addressing !== undefined ? qube.addressing.dns.join(" ") : "dhcp",
    };
    if (upstream >= 0) guest.provider.natIf = upstream;
  }
  return guest;
}

export function templateGuest(host: ResolvedHost, template: ResolvedTemplate): GuestSpec {
  const guest: GuestSpec = { name: template.name, class: "TemplateVM", nics: templateNics(host, template), dns: template.addressing?.dns ?? [] };
  if (template.addressing !== undefined) guest.gateway = template.addressing.gateway;
  return guest;
}

export function qubeSeed(host: ResolvedHost, qube: ResolvedQube): NoCloudSeed {
  return guestSeed(host, qubeGuest(host, qube));
}

export function templateSeed(host: ResolvedHost, template: ResolvedTemplate): NoCloudSeed {
  return guestSeed(host, templateGuest(host, template));
}

export function guestSeed(host: ResolvedHost, guest: GuestSpec): NoCloudSeed {
  const env = bulkheadEnv(guest);
  return {
    metaData: yaml11({ "instance-id": domainName(host, guest.name), "local-hostname": guest.name }),
    userData: userData(guest, env),
    networkConfig: networkConfig(guest),
    files: { "bulkhead.env": env },
  };
}

/** Where user-data installs the env file and the provider script in the guest. */
export const ENV_PATH = "/etc/bulkhead/bulkhead.env";
export const PROVIDER_SCRIPT_PATH = "/usr/local/sbin/bulkhead-provider";

export function userData(guest: GuestSpec, env: string): string {
  const config: Record<string, unknown> = { hostname: guest.name };
  if (guest.provider !== undefined) {
    config.write_files = [
      { path: ENV_PATH, permissions: "0644", content: env },
      { path: PROVIDER_SCRIPT_PATH, permissions: "0755", content: PROVIDER_SCRIPT },
    ];
    config.runcmd = [[PROVIDER_SCRIPT_PATH]];
  }
  const doc = new Document(config, { version: "1.1" });
  doc.commentBefore = "cloud-config";
  return doc.toString();
}

/** network-config v2: each NIC matched by MAC; the default route and DNS on the upstream NIC. */
export function networkConfig(guest: GuestSpec): string {
  const ethernets: Record<string, unknown> = {};
  guest.nics.forEach((nic, i) => {
    const eth: Record<string, unknown> = { match: { macaddress: nic.iface.mac.address }, dhcp4: nic.dhcp };
    if (nic.addrs.length > 0) eth.addresses = nic.addrs;
    if (nic.role === "upstream" && guest.gateway !== undefined) {
      eth.routes = [{ to: "0.0.0.0/0", via: guest.gateway, "on-link": true }];
      if (guest.dns.length > 0) eth.nameservers = { addresses: guest.dns };
    }
    ethernets[`if${i}`] = eth;
  });
  return yaml11({ version: 2, ethernets });
}

/**
 * `KEY=value` lines for the lab's busybox init (and the provider script).
 * Values are sourced by a shell, so anything beyond names, numbers and
 * addresses is refused rather than quoted.
 */
export function bulkheadEnv(guest: GuestSpec): string {
  const lines: [string, string][] = [
    ["QUBE", guest.name],
    ["CLASS", guest.class],
    ["HOSTNAME", guest.name],
    ["IFACES", String(guest.nics.length)],
  ];
  guest.nics.forEach((nic, i) => {
    lines.push([`IF${i}_MAC`, nic.iface.mac.address]);
    lines.push([`IF${i}_ADDRS`, nic.addrs.join(" ")]);
    lines.push([`IF${i}_DHCP`, nic.dhcp ? "1" : "0"]);
  });
  lines.push(["GATEWAY", guest.gateway ?? ""]);
  lines.push(["DNS", guest.dns.join(" ")]);
  if (guest.provider !== undefined) {
    lines.push(["FORWARD", "1"]);
    lines.push(["NAT_IF", guest.provider.natIf === undefined ? "" : String(guest.provider.natIf)]);
    lines.push(["CLIENT_IF", String(guest.provider.clientIf)]);
    lines.push(["DNS_UPSTREAM", guest.provider.dnsUpstream]);
  }
  return lines.map(([k, v]) => `${k}=${envValue(k, v)}\n`).join("");
}

function envValue(key: string, value: string): string {
  if (!/^[A-Za-z0-9 .:/_-]*$/.test(value)) throw new Error(`bulkhead.env: unsafe value for ${key}: ${JSON.stringify(value)}`);
  return value;
}

function yaml11(value: unknown): string {
  return stringify(value, { version: "1.1" });
}

/**
 * Makes a provider route for its clients as a Qubes netvm does. Constant
 * text: every value it uses comes from the env file, found by MAC.
 */
export const PROVIDER_SCRIPT = `#!/bin/sh
# Written by bulkhead: forward for clients, masquerade out of the upstream
# interface, DNAT Qubes' virtual DNS pair (10.139.1.1/.2 port 53) upstream.
set -eu
. ${ENV_PATH}
ifname() {
  for d in /sys/class/net/*; do
    if [ "$(cat "$d/address")" = "$1" ]; then basename "$d"; return 0; fi
  done
  return 1
}
eval "client_mac=\\$IF\${CLIENT_IF}_MAC"
client=$(ifname "$client_mac")
if [ -n "\${NAT_IF:-}" ]; then
  eval "nat_mac=\\$IF\${NAT_IF}_MAC"
  out="oifname \\"$(ifname "$nat_mac")\\""
else
  out="oifname != \\"$client\\""
fi
upstream=$DNS_UPSTREAM
if [ "$upstream" = dhcp ]; then
  upstream=$(awk '/^nameserver/ { print $2; exit }' /run/systemd/resolve/resolv.conf 2>/dev/null || true)
  [ -n "$upstream" ] || upstream=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
fi
set -- $upstream
sysctl -w net.ipv4.ip_forward=1
nft -f - <<EOF
table ip bulkhead
delete table ip bulkhead
table ip bulkhead {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname "$client" ip daddr { 10.139.1.1, 10.139.1.2 } meta l4proto { tcp, udp } th dport 53 dnat to $1
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    $out masquerade
  }
}
EOF
`;
