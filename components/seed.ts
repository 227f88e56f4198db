// The NoCloud seed of each qube: cloud-init files for real images, and
// `bulkhead.env` for the lab's busybox init. Pure but for reading the one
// provider ruleset (components/provider.nft) once. YAML comes from the `yaml`
// library in 1.1 mode, so values cloud-init's YAML 1.1 parser would misread
// (a MAC like 52:54:00:12:34:56 is a base-60 number there) are quoted; each shape
// of document is rendered once per process (SeedShapes below).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Document, stringify } from "yaml";
import type { CloudInitSettings, CloudInitUser, ResolvedHost, ResolvedQube, ResolvedTemplate } from "../layout/model";
import type { BulkheadMetadata, NoCloudSeed } from "../libvirt/types";
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
  /** The qube has a private volume (vdb, serial `private`): formatted once and mounted at /rw. */
  private?: boolean;
  /** The layout's own cloud-init settings (checked and merged by the loader). */
  cloudInit?: CloudInitSettings;
  /** Set for a NetVM or ProxyVM. */
  provider?: {
    /** Interface to masquerade out of; absent for a PCI uplink (not a domain interface). */
    natIf?: number;
    clientIf: number;
    /** Where to DNAT Qubes' virtual DNS pair: addresses, or `dhcp` for the uplink's resolver. */
    dnsUpstream: string;
    /** A NetVM whose uplink is a passed-through PCI NIC (configured by DHCP, found by elimination). */
    pciUplink: boolean;
  };
}

export function qubeGuest(host: ResolvedHost, qube: ResolvedQube): GuestSpec {
  const nics = qubeNics(host, qube);
  // Every qube class has a private disk (components/qube.ts qubeDisks); templates have none.
  const guest: GuestSpec = { name: qube.name, class: qube.class, nics, dns: qube.addressing?.dns ?? [], private: true };
  if (qube.addressing !== undefined) guest.gateway = qube.addressing.gateway;
  if (qube.cloudInit !== undefined) guest.cloudInit = qube.cloudInit;
  if (qube.provides !== undefined) {
    const upstream = nics.findIndex((n) => n.role === "upstream" || n.role === "uplink");
    guest.provider = {
      clientIf: nics.findIndex((n) => n.role === "clients"),
      // A ProxyVM forwards to its own DNS pair; a NetVM to whatever DHCP gave its uplink.
      dnsUpstream: qube.addressing !== undefined ? qube.addressing.dns.join(" ") : "dhcp",
      pciUplink: qube.class === "NetVM" && qube.uplink?.kind === "pci",
    };
    if (upstream >= 0) guest.provider.natIf = upstream;
  }
  return guest;
}

export function templateGuest(host: ResolvedHost, template: ResolvedTemplate): GuestSpec {
  const guest: GuestSpec = { name: template.name, class: "TemplateVM", nics: templateNics(host, template), dns: template.addressing?.dns ?? [] };
  if (template.addressing !== undefined) guest.gateway = template.addressing.gateway;
  if (template.cloudInit !== undefined) guest.cloudInit = template.cloudInit;
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
  const files: Record<string, string> = { "bulkhead.env": env };
  if (guest.provider !== undefined) files[RULESET_SEED_FILE] = providerRuleset();
  return {
    metaData: META_SHAPES.render((slot) => ({ "instance-id": slot(domainName(host, guest.name)), "local-hostname": slot(guest.name) })),
    userData: userData(guest, env),
    networkConfig: networkConfig(guest),
    files,
  };
}

/** Where user-data installs bulkhead's files in a stock guest (no user write_files may name them). */
export const ENV_PATH = "/etc/bulkhead/bulkhead.env";
export const RULESET_PATH = "/etc/bulkhead/provider.nft";
export const PROVIDER_SCRIPT_PATH = "/usr/local/sbin/bulkhead-provider";
/** The ruleset's name on the seed, where the lab's busybox init reads it. */
export const RULESET_SEED_FILE = "provider.nft";
/** A PCI-uplink NetVM's client NIC is renamed to this, so "every other ethernet" is its uplink. */
export const CLIENT_IFNAME = "bhclients";
/** DHCP on a PCI uplink, for ifupdown (cloud-init's `eni` renderer) and systemd-networkd. */
export const UPLINK_ENI_PATH = "/etc/network/interfaces.d/60-bulkhead-uplink";
export const UPLINK_NETWORKD_PATH = "/etc/systemd/network/60-bulkhead-uplink.network";

/** The private volume as a cloud-init guest sees it (virtio-blk serial `private`, components/domain.ts). */
export const PRIVATE_DEVICE = "/dev/disk/by-id/virtio-private";

let ruleset: string | undefined;

/** components/provider.nft, the one provider ruleset, byte for byte (read from the source tree or next to dist/). */
export function providerRuleset(): string {
  if (ruleset === undefined) {
    const candidates = [join(__dirname, "provider.nft"), join(__dirname, "..", "..", "components", "provider.nft")];
    const file = candidates.find((f) => existsSync(f));
    if (file === undefined) throw new Error(`provider ruleset not found (looked for ${candidates.join(", ")})`);
    ruleset = readFileSync(file, "utf8");
  }
  return ruleset;
}

/** bulkhead's own write_files and runcmd for a guest: the network and firewall duties. */
export function bulkheadCloudConfig(guest: GuestSpec, env: string): { write_files: Record<string, string>[]; runcmd: string[][] } {
  if (guest.provider === undefined) return { write_files: [], runcmd: [] };
  const write_files = [
    { path: ENV_PATH, permissions: "0644", content: env },
    { path: RULESET_PATH, permissions: "0644", content: providerRuleset() },
    { path: PROVIDER_SCRIPT_PATH, permissions: "0755", content: PROVIDER_SCRIPT },
  ];
  if (guest.provider.pciUplink) {
    write_files.push({ path: UPLINK_ENI_PATH, permissions: "0644", content: UPLINK_ENI });
    write_files.push({ path: UPLINK_NETWORKD_PATH, permissions: "0644", content: UPLINK_NETWORKD });
  }
  return { write_files, runcmd: [[PROVIDER_SCRIPT_PATH]] };
}

/**
 * The user-data: the layout's cloud-init settings first, bulkhead's own last. Why a person's
 * settings cannot switch off or override bulkhead's network and firewall duties:
 *  - the layout can only say users, ssh_authorized_keys, packages, write_files and runcmd
 *    (layout/schema.ts); no network, bootcmd or other cloud-init key reaches this document;
 *  - its write_files may not name bulkhead's files nor any network, firewall or cloud-init
 *    configuration (PROTECTED_PATHS), and bulkhead's own entries come after them anyway;
 *  - on a NetVM or ProxyVM the loader refuses packages, write_files and runcmd altogether:
 *    there, nothing from the layout runs as root, so no command can flush or replace the
 *    ruleset, before or after bulkhead's runcmd (which is the last of the list everywhere).
 */
export function userData(guest: GuestSpec, env: string): string {
  return USER_DATA_SHAPES.render((slot) => userDataConfig(guest, env, slot));
}

function userDataConfig(guest: GuestSpec, env: string, slot: Slot): Record<string, unknown> {
  // C.UTF-8 is the one locale every Debian image has: cloud-init's default (en_US.UTF-8) fails
  // in cc_locale on an image that has not generated it (update-locale exits 255).
  const config: Record<string, unknown> = { hostname: slot(guest.name), locale: "C.UTF-8" };
  if (guest.private === true) {
    // Formatted only while it holds no filesystem (a person's home is never reformatted), then
    // mounted at /rw, as Qubes does. The lab's busybox init does the same from bulkhead.env.
    // partition "auto", not "none": cloud-init 22.4's mkfs checks for an existing filesystem only
    // for auto/any (a labelled ext4 is reused); with "none" it formats the device every time it runs,
    // and on a transient root every boot is cloud-init's first: the private volume was wiped at each
    // boot (found by `bulkhead prove --stack stock`'s storage checks).
    config.fs_setup = [{ device: PRIVATE_DEVICE, partition: "auto", filesystem: "ext4", label: "private", overwrite: false }];
    config.mounts = [[PRIVATE_DEVICE, "/rw", "ext4", "defaults,nofail", "0", "2"]];
  }
  const mine = guest.cloudInit;
  const own = bulkheadCloudConfig(guest, env);
  if (mine !== undefined && mine.users.length > 0) config.users = ["default", ...mine.users.map(cloudInitUser)];
  if (mine !== undefined && mine.ssh_authorized_keys.length > 0) config.ssh_authorized_keys = mine.ssh_authorized_keys;
  if (mine !== undefined && mine.packages.length > 0) config.packages = mine.packages;
  // A person's files are deferred (cloud-init's final stage): their owners exist by then.
  const writeFiles = [...(mine?.write_files ?? []).map((f) => ({ ...f, defer: true })), ...own.write_files];
  if (writeFiles.length > 0) config.write_files = writeFiles;
  const runcmd = [...(mine?.runcmd ?? []), ...own.runcmd];
  if (runcmd.length > 0) config.runcmd = runcmd;
  return config;
}

/** A layout user as cloud-init's `users` entry; a password hash unlocks console login. */
function cloudInitUser(user: CloudInitUser): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: user.name };
  if (user.groups !== undefined && user.groups.length > 0) entry.groups = user.groups.join(",");
  if (user.shell !== undefined) entry.shell = user.shell;
  if (user.sudo === true) entry.sudo = "ALL=(ALL) NOPASSWD:ALL";
  if (user.password_hash !== undefined) {
    entry.passwd = user.password_hash;
    entry.lock_passwd = false;
  }
  if (user.ssh_authorized_keys !== undefined && user.ssh_authorized_keys.length > 0) entry.ssh_authorized_keys = user.ssh_authorized_keys;
  return entry;
}

/**
 * network-config v2: each NIC matched by MAC; the default route and DNS on the
 * upstream NIC. A PCI uplink is no domain interface and its MAC is the card's
 * own: cloud-init 22.4 turns every v2 `ethernets` entry into one interface
 * named by its key (a `match: name` glob is dropped by its eni and networkd
 * renderers), so "every other ethernet" cannot be said here. Instead the
 * client NIC is renamed to `bhclients` and bulkhead's user-data adds DHCP on
 * every en* or eth* interface (UPLINK_ENI, UPLINK_NETWORKD): the uplink only.
 */
export function networkConfig(guest: GuestSpec): string {
  return NETWORK_SHAPES.render((slot) => {
    const ethernets: Record<string, unknown> = {};
    guest.nics.forEach((nic, i) => {
      const eth: Record<string, unknown> = { match: { macaddress: slot(nic.iface.mac.address) } };
      if (nic.role === "clients" && guest.provider?.pciUplink === true) eth["set-name"] = CLIENT_IFNAME;
      eth.dhcp4 = nic.dhcp;
      if (nic.addrs.length > 0) eth.addresses = nic.addrs.map(slot);
      if (nic.role === "upstream" && guest.gateway !== undefined) {
        eth.routes = [{ to: "0.0.0.0/0", via: slot(guest.gateway), "on-link": true }];
        if (guest.dns.length > 0) eth.nameservers = { addresses: guest.dns.map(slot) };
      }
      ethernets[`if${i}`] = eth;
    });
    return { version: 2, ethernets };
  });
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

/** Marks a string of a seed document that varies from qube to qube (see SeedShapes). */
export type Slot = (value: string) => string;

/**
 * Strings put into a rendered shape by substitution: how the library writes them (plain or
 * quoted) cannot depend on where they stand, as they start with no indicator, hold no space,
 * quote, backslash, `#` or line break (so nothing folds, at any line width) and cannot end
 * with `:`. Names, MACs and IPv4 addresses with prefixes are such strings.
 */
const SUBSTITUTABLE = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,38}[A-Za-z0-9/._-]$|^[A-Za-z0-9]$/;
const PLACEHOLDER = /bhslot(\d+)x/g;
/** Shapes kept per kind of document; a layout of distinct cloud-init settings gets one each. */
const MAX_SHAPES = 10_000;

/**
 * Renders the seed documents of thousands of qubes without rendering each whole (issue 12:
 * `bulkhead check` of 5,000 qubes). A layout's seeds differ from qube to qube in a few
 * strings (name, MAC, addresses), which the builder marks with `slot`: the `yaml` library
 * renders each shape once, with a placeholder (`bhslot<N>x`, always plain) for each such
 * string, and each seed is that text with its strings put in, quoted where the library's
 * schema says a plain one would not read back as a string. Same bytes as rendering the document whole (held by
 * test/components/seed.test.ts); a string that is not SUBSTITUTABLE stays in the shape, and
 * a shape whose text does not hold each placeholder exactly once is rendered whole.
 */
export class SeedShapes {
  private readonly shapes = new Map<string, (string | number)[] | null>();
  private readonly texts = new Map<string, string>();

  /** `toText` renders a whole document (as the seed does). */
  constructor(private readonly toText: (value: unknown) => string) {}

  render(build: (slot: Slot) => unknown): string {
    const values: string[] = [];
    const shaped = build((value) => {
      if (!SUBSTITUTABLE.test(value)) return value;
      values.push(value);
      return `bhslot${values.length - 1}x`;
    });
    const key = JSON.stringify(shaped);
    if (values.length === 0) {
      // A document with no slot (a qube without network has no MAC or address): its text.
      let text = this.texts.get(key);
      if (text === undefined) {
        if (this.texts.size >= MAX_SHAPES) this.texts.clear();
        text = this.toText(shaped);
        this.texts.set(key, text);
      }
      return text;
    }
    let parts = this.shapes.get(key);
    if (parts === undefined) {
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      parts = split(this.toText(shaped), values.length);
      this.shapes.set(key, parts);
    }
    if (parts === null) return this.toText(build((value) => value));
    return parts.map((p) => (typeof p === "number" ? substituted(values[p]) : p)).join("");
  }
}

/**
 * The tags by which a plain scalar would read back as something other than a string in
 * YAML 1.1 (a bool, a base-60 int, a timestamp...): the library's own schema, and the test
 * its plainString applies before it quotes a string.
 */
const RESOLVING = new Document(null, { version: "1.1" }).schema.tags.flatMap((tag) =>
  tag.default && tag.tag !== "tag:yaml.org,2002:str" && "test" in tag && tag.test instanceof RegExp ? [tag.test] : [],
);

/**
 * A SUBSTITUTABLE string as the library writes it: plain, or double-quoted when plain would
 * read back as another type (nothing in such a string needs an escape, and it never folds).
 */
function substituted(value: string): string {
  return RESOLVING.some((test) => test.test(value)) ? `"${value}"` : value;
}

/** The shape's text cut at its placeholders (numbers: which string), or null unless each is there once. */
function split(text: string, count: number): (string | number)[] | null {
  const parts: (string | number)[] = [];
  const seen = new Set<number>();
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const slot = Number(m[1]);
    if (slot >= count || seen.has(slot)) return null;
    seen.add(slot);
    parts.push(text.slice(at, m.index), slot);
    at = m.index + m[0].length;
  }
  if (seen.size !== count) return null;
  parts.push(text.slice(at));
  return parts;
}

const META_SHAPES = new SeedShapes(yaml11);
const NETWORK_SHAPES = new SeedShapes(yaml11);
const USER_DATA_SHAPES = new SeedShapes((config) => {
  const doc = new Document(config, { version: "1.1" });
  doc.commentBefore = "cloud-config";
  return doc.toString({ lineWidth: 0, blockQuote: "literal" });
});

/**
 * Loads the provider ruleset (RULESET_PATH, the bytes of components/provider.nft)
 * with this qube's client interface and resolvers as set and map elements, in
 * one transaction, then switches forwarding on. Constant text: every value it
 * uses comes from the env file (the client NIC is found by MAC).
 */
export const PROVIDER_SCRIPT = `#!/bin/sh
# Written by bulkhead: load the provider ruleset (${RULESET_PATH}) unchanged, with this
# qube's client interface and its resolvers for Qubes' virtual DNS pair as elements.
# ${ENV_PATH} is read as data (KEY=value lines), never sourced.
set -eu
val() { sed -n "s/^$1=//p" ${ENV_PATH} | head -n 1; }
ifname() {
  for d in /sys/class/net/*; do
    if [ "$(cat "$d/address")" = "$1" ]; then basename "$d"; return 0; fi
  done
  return 1
}
client=$(ifname "$(val "IF$(val CLIENT_IF)_MAC")")
upstream=$(val DNS_UPSTREAM)
if [ "$upstream" = dhcp ]; then
  upstream=$(awk '/^nameserver/ { print $2; exit }' /run/systemd/resolve/resolv.conf 2>/dev/null || true)
  [ -n "$upstream" ] || upstream=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
fi
set -- $upstream
echo 0 >/proc/sys/net/ipv4/ip_forward
{
  cat ${RULESET_PATH}
  echo "add element inet bulkhead clients { \\"$client\\" }"
  if [ $# -gt 0 ]; then echo "add element inet bulkhead dns { 10.139.1.1 : $1, 10.139.1.2 : \${2:-$1} }"; fi
} | nft -f -
echo 1 >/proc/sys/net/ipv4/ip_forward
echo "bulkhead: provider ruleset sha256 $(sha256sum ${RULESET_PATH} | cut -d' ' -f1)"
echo "bulkhead: provider: forwarding $client -> upstream, dns -> \${1:-none} \${2:-\${1:-}}"
`;

/** ifupdown: DHCP on every en* or eth* interface (a PCI uplink NetVM's client NIC is `bhclients`). */
export const UPLINK_ENI = `# Written by bulkhead: the PCI uplink (every ethernet but ${CLIENT_IFNAME}) by DHCP.
auto /en*=bhuplink /eth*=bhuplink
iface bhuplink inet dhcp
`;

/** systemd-networkd: the same, for images that render network-config with networkd. */
export const UPLINK_NETWORKD = `# Written by bulkhead: the PCI uplink (every ethernet but ${CLIENT_IFNAME}) by DHCP.
[Match]
Type=ether
Name=!${CLIENT_IFNAME}

[Network]
DHCP=ipv4
`;
