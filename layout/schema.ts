// The layout format, version 1 (docs/layout.md), as a zod schema: the
// single source of the raw layout's types. Every object is strict so typos are errors.
// Leaf checks that need a sentence of advice report `custom` issues with that sentence;
// the generic codes (wrong type, unknown key, value not in an enum) get their wording
// from layout/issues.ts, which knows the full path.
import { z } from "zod";
import {
  parseDstHost,
  parseExpire,
  parseListen,
  parsePciAddress,
  parsePorts,
  parseSize,
  parseUsbId,
  parseWhole,
  type Parsed,
} from "./values";
import { show } from "./errors";
import { uriProblem } from "../libvirt/uri";

export const QUBE_CLASSES = ["AppVM", "NetVM", "ProxyVM", "UsbVM", "DispVM", "StandaloneVM"] as const;
export const LABELS = ["red", "orange", "yellow", "green", "gray", "blue", "purple", "black"] as const;
export const RESERVED_NAMES = ["none", "default", "dom0"] as const;
const NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;

/** Runs a pure parser from values.ts as a schema step, keeping its message. */
function parsed<T>(parse: (input: unknown) => Parsed<T>) {
  return z.unknown().transform((input, ctx): T => {
    const result = parse(input);
    if (result.ok) return result.value;
    ctx.issues.push({ code: "custom", message: result.message, input });
    return z.NEVER;
  });
}

/** A whole number in [min, max]; YAML floats, huge numbers and strings all end here. */
function whole(min: number, max: number, unit = "") {
  return parsed((input) =>
    typeof input === "number" && Number.isInteger(input) && input >= min && input <= max
      ? { ok: true, value: input }
      : { ok: false, message: `must be a whole number${unit} from ${min} to ${max}, not ${show(input)}` },
  );
}

/** A checked string; `test` returns the complaint or undefined. */
function checkedString(test: (value: string) => string | undefined) {
  return z
    .string()
    .max(4096)
    .superRefine((value, ctx) => {
      const complaint = test(value);
      if (complaint !== undefined) ctx.addIssue({ code: "custom", message: complaint, input: value });
    });
}

// Control characters cannot appear in libvirt XML and are never meant in a layout.
const noControl = (value: string) =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f]/.test(value) ? "must not contain control characters or line breaks" : undefined;

/** Free text on one line. */
const text = checkedString(noControl);

const reference = checkedString((value) => (value === "" ? "must not be empty" : undefined));

/** A qube or template name, as Qubes allows them. */
export const nameSchema = checkedString((value) => {
  if (!NAME_RE.test(value)) {
    return `${show(value)} is not a valid name: use 1 to 31 lowercase letters, digits and "-", starting with a letter`;
  }
  if ((RESERVED_NAMES as readonly string[]).includes(value)) {
    return `"${value}" is a word Qubes reserves; pick another name`;
  }
  return undefined;
});

const absolutePath = checkedString(
  (value) => noControl(value) ?? (value.startsWith("/") ? undefined : `${show(value)} is not an absolute path; start it with "/"`),
);

const imageSource = checkedString(
  (value) =>
    noControl(value) ??
    (value.startsWith("/") || value.startsWith("https://")
      ? undefined
      : `${show(value)} is neither an absolute path on the host nor an https:// URL`),
);

/** Names libvirt accepts for networks and pools without surprises. */
const libvirtName = checkedString((value) =>
  /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(value)
    ? undefined
    : `${show(value)} is not a usable libvirt name: letters, digits, ".", "_", "+", "-", at most 64`,
);

/** Linux interface names are at most 15 bytes. */
const interfaceName = checkedString((value) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(value)
    ? undefined
    : `${show(value)} is not a host interface name: 1 to 15 letters, digits, ".", "_", "-"`,
);

const memoryMiB = whole(1, 1048576, " of MiB");
/** `maxmem: 0` is Qubes' "no memory balancing". */
const maxmemMiB = whole(0, 1048576, " of MiB");

/** libvirt keeps at most 256 characters of a rule comment; bulkhead puts the rule's expiry in front. */
export const MAX_COMMENT = 200;
/** A size limit, not libvirt's: the filter's priorities are spent per change of action (components/firewall.ts). */
export const MAX_FIREWALL_RULES = 10000;
/** Runs of same-action rules one nwfilter orders: priorities -1000..999 (1000 is the final drop). */
export const MAX_ACTION_RUNS = 2000;
const vcpus = whole(1, 256);

export const hostSchema = z.strictObject({
  uri: checkedString((value) => uriProblem(value)).optional(),
  domainType: z.enum(["kvm", "qemu"]).optional(),
  pool: libvirtName.optional(),
  poolPath: absolutePath.optional(),
  // Ends with "-" so that no two prefixes and names meet in one object name ("a" + "bwork" = "ab" + "work").
  prefix: checkedString((value) =>
    /^([a-z][a-z0-9]{0,15}-)?$/.test(value)
      ? undefined
      : `${show(value)} is not a usable prefix: empty, or 1 to 16 lowercase letters and digits starting with a letter, then "-" (e.g. "dev-")`,
  ).optional(),
  images: z.array(absolutePath).min(1).max(64).optional(),
  memory: memoryMiB.optional(),
});

export const defaultsSchema = z.strictObject({
  netvm: reference.nullable().optional(),
  template: reference.optional(),
  label: z.enum(LABELS).optional(),
  memory: memoryMiB.optional(),
  vcpus: vcpus.optional(),
});

/**
 * Paths a layout's `cloud_init.write_files` may not name (nor anything below them): bulkhead's
 * own files and everything that configures a guest's network, firewall or cloud-init itself,
 * so a layout can never replace the provider ruleset or the network bulkhead configures.
 */
export const PROTECTED_PATHS = [
  "/etc/bulkhead",
  "/usr/local/sbin/bulkhead-provider",
  "/etc/cloud",
  "/var/lib/cloud",
  "/etc/network",
  "/etc/systemd/network",
  "/etc/netplan",
  "/etc/NetworkManager",
  "/etc/udev/rules.d",
  "/etc/dhcp",
  "/etc/resolv.conf",
  "/etc/nftables.conf",
  "/etc/iptables",
  "/etc/sysctl.conf",
  "/etc/sysctl.d",
] as const;

const guestPath = checkedString((value) => {
  const control = noControl(value);
  if (control !== undefined) return control;
  if (!value.startsWith("/")) return `${show(value)} is not an absolute path; start it with "/"`;
  if (value.split("/").slice(1).some((part) => part === "" || part === "." || part === "..")) {
    return `${show(value)} is not a plain path: no "//", "/./", "/../" or trailing "/"`;
  }
  const hit = PROTECTED_PATHS.find((p) => value === p || value.startsWith(`${p}/`));
  return hit === undefined
    ? undefined
    : `${show(value)} is under ${hit}, which bulkhead or the guest's network configuration owns; write it elsewhere`;
});

const unixName = (what: string) =>
  checkedString((value) =>
    /^[a-z_][a-z0-9_-]{0,31}$/.test(value)
      ? undefined
      : `${show(value)} is not a ${what} name: 1 to 32 lowercase letters, digits, "_" and "-", starting with a letter or "_"`,
  );

const sshKey = checkedString(
  (value) =>
    noControl(value) ??
    (/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\s].*)?$/.test(value)
      ? undefined
      : "is not an OpenSSH public key (\"ssh-ed25519 AAAA… comment\", one line, as in ~/.ssh/id_ed25519.pub)"),
);

// crypt(3) hashes: yescrypt ($y$), gost-yescrypt ($gy$), scrypt ($7$), bcrypt ($2b$), SHA-512 ($6$), SHA-256 ($5$).
const passwordHash = checkedString((value) =>
  /^\$(y|gy|7|2[aby]|6|5)\$[A-Za-z0-9./$=,]{8,}$/.test(value)
    ? undefined
    : "must be a password hash, never the password itself: make one with `mkpasswd -m yescrypt` or `openssl passwd -6`",
);

const debianPackage = checkedString((value) =>
  /^[a-z0-9][a-z0-9+.-]{1,62}$/.test(value)
    ? undefined
    : `${show(value)} is not a package name: lowercase letters, digits, "+", "-", "." (as Debian names them)`,
);

/** File content: text, tabs and line breaks allowed, other control characters not. */
const fileContent = z
  .string()
  .max(65536)
  .superRefine((value, ctx) => {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) {
      ctx.addIssue({ code: "custom", message: "must be text: no control characters but tabs and line breaks", input: value });
    }
  });

const fileMode = checkedString((value) =>
  /^0?[0-7]{3}$/.test(value) ? undefined : `${show(value)} is not a file mode: a quoted octal string such as "0644"`,
);
const fileOwner = checkedString((value) =>
  /^[a-z_][a-z0-9_-]{0,31}(:[a-z_][a-z0-9_-]{0,31})?$/.test(value) ? undefined : `${show(value)} is not an owner: "user" or "user:group"`,
);

const commandLine = checkedString((value) => noControl(value) ?? (value.trim() === "" ? "must not be empty" : undefined));

export const cloudInitUserSchema = z.strictObject({
  name: unixName("user"),
  ssh_authorized_keys: z.array(sshKey).max(64).optional(),
  password_hash: passwordHash.optional(),
  groups: z.array(unixName("group")).max(32).optional(),
  sudo: z.boolean().optional(),
  shell: absolutePath.optional(),
});

/**
 * A person's own cloud-init settings for a template or qube: a fixed set of keys, each
 * checked, mapped by bulkhead onto cloud-init's (docs/layout.md). Nothing here can touch
 * the network (no network, bootcmd or arbitrary keys); see PROTECTED_PATHS, and the
 * provider rule in layout/resolve.ts.
 */
export const cloudInitSchema = z.strictObject({
  users: z.array(cloudInitUserSchema).max(64).optional(),
  ssh_authorized_keys: z.array(sshKey).max(64).optional(),
  packages: z.array(debianPackage).max(256).optional(),
  write_files: z
    .array(
      z.strictObject({
        path: guestPath,
        content: fileContent,
        permissions: fileMode.optional(),
        owner: fileOwner.optional(),
        append: z.boolean().optional(),
      }),
    )
    .max(64)
    .optional(),
  runcmd: z.array(z.union([commandLine, z.array(text).min(1).max(256)])).max(128).optional(),
});

export const bootSchema = z.strictObject({
  kernel: absolutePath,
  initrd: absolutePath.optional(),
  cmdline: text.optional(),
});

const sha256 = checkedString((value) =>
  /^[0-9a-f]{64}$/.test(value) ? undefined : `${show(value)} is not a sha256 digest: 64 lowercase hex digits`,
);

export const templateSchema = z.strictObject({
  image: imageSource,
  sha256: sha256.optional(),
  format: z.enum(["qcow2", "raw"]).optional(),
  boot: bootSchema.optional(),
  memory: memoryMiB.optional(),
  vcpus: vcpus.optional(),
  label: z.enum(LABELS).optional(),
  netvm: reference.nullable().optional(),
  guest_agent: z.boolean().optional(),
  cloud_init: cloudInitSchema.optional(),
}).superRefine((t, ctx) => {
  const url = t.image.startsWith("https://");
  if (url && t.sha256 === undefined) {
    ctx.addIssue({ code: "custom", path: ["sha256"], message: "an https:// image needs sha256: the digest the download must match" });
  }
  if (!url && t.sha256 !== undefined) {
    ctx.addIssue({ code: "custom", path: ["sha256"], message: "sha256 applies to an https:// image; remove it for a local file" });
  }
});

const present = (value: unknown) => value !== undefined;

/** One `qvm-firewall` rule; the pairings Qubes refuses are refused here too. */
export const firewallRuleSchema = z
  .strictObject({
    action: z.enum(["accept", "drop"]),
    dsthost: parsed(parseDstHost).optional(),
    proto: z.enum(["tcp", "udp", "icmp"]).optional(),
    dstports: parsed(parsePorts).optional(),
    icmptype: parsed((input) => parseWhole(input, 0, 255)).optional(),
    specialtarget: z.enum(["dns"]).optional(),
    expire: parsed(parseExpire).optional(),
    comment: text.max(MAX_COMMENT).optional(),
  })
  .superRefine((rule, ctx) => {
    if (present(rule.dstports) && rule.proto !== "tcp" && rule.proto !== "udp") {
      ctx.addIssue({
        code: "custom",
        path: ["dstports"],
        message:
          rule.proto === undefined
            ? "dstports needs proto: tcp or udp"
            : `dstports applies to tcp and udp only, not proto ${rule.proto}`,
      });
    }
    if (present(rule.icmptype) && rule.proto !== "icmp") {
      ctx.addIssue({ code: "custom", path: ["icmptype"], message: "icmptype needs proto: icmp" });
    }
    if (present(rule.specialtarget)) {
      // `proto: tcp` or `udp` narrows it to one protocol, as in Qubes.
      const clash: string[] = (["dsthost", "dstports", "icmptype"] as const).filter((key) => present(rule[key]));
      if (rule.proto === "icmp") clash.unshift("proto: icmp");
      if (clash.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["specialtarget"],
          message: `specialtarget dns already means the qube's DNS servers on port 53 (tcp and udp, or the one proto names); remove ${clash.join(", ")} (or write a separate rule)`,
        });
      }
    }
  });

export const UPLINK_KINDS = ["pci", "macvtap", "bridge", "network"] as const;

/** How a NetVM reaches the outside: exactly one of the four. */
export const uplinkSchema = z
  .strictObject({
    pci: z.array(parsed(parsePciAddress)).min(1).optional(),
    macvtap: z.strictObject({ dev: interfaceName }).optional(),
    bridge: interfaceName.optional(),
    network: libvirtName.optional(),
  })
  .superRefine((uplink, ctx) => {
    const given = UPLINK_KINDS.filter((kind) => present(uplink[kind]));
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message:
          given.length === 0
            ? "uplink needs exactly one of pci, macvtap, bridge, network"
            : `uplink takes exactly one of pci, macvtap, bridge, network, not ${given.join(" and ")}`,
      });
    }
  });

export const displaySchema = z.union([
  z.literal("none"),
  z.strictObject({
    type: z.enum(["spice", "vnc"]),
    listen: parsed(parseListen).optional(),
  }),
]);

export const qubeSchema = z.strictObject({
  class: z.enum(QUBE_CLASSES),
  template: reference.optional(),
  netvm: reference.nullable().optional(),
  label: z.enum(LABELS).optional(),
  memory: memoryMiB.optional(),
  maxmem: maxmemMiB.optional(),
  vcpus: vcpus.optional(),
  autostart: z.boolean().optional(),
  private: parsed(parseSize).optional(),
  // Opt-in, per qube, to losing its data: see docs/layout.md.
  discard_data: z.boolean().optional(),
  renamed_from: z.union([nameSchema, z.array(nameSchema).min(1).max(16)]).optional(),
  template_for_dispvms: z.boolean().optional(),
  provides_network: z.boolean().optional(),
  firewall: z.array(firewallRuleSchema).max(MAX_FIREWALL_RULES).optional(),
  uplink: uplinkSchema.optional(),
  devices: z
    .strictObject({
      pci: z.array(parsed(parsePciAddress)).optional(),
      usb: z.array(parsed(parseUsbId)).optional(),
    })
    .optional(),
  display: displaySchema.optional(),
  kernelopts: text.optional(),
  cloud_init: cloudInitSchema.optional(),
});

export const layoutSchema = z.strictObject({
  version: z.literal(1),
  host: hostSchema.optional(),
  defaults: defaultsSchema.optional(),
  templates: z.record(nameSchema, templateSchema).superRefine((templates, ctx) => {
    if (Object.keys(templates).length === 0) {
      ctx.addIssue({ code: "custom", message: "declare at least one template (the image qubes boot from)" });
    }
  }),
  qubes: z.record(nameSchema, qubeSchema),
});

/** The layout as written, after the schema (values parsed, defaults not yet applied). */
export type RawLayout = z.infer<typeof layoutSchema>;
/** What the YAML may hold before parsing (for tools that generate layouts). */
export type RawLayoutInput = z.input<typeof layoutSchema>;
export type RawQube = RawLayout["qubes"][string];
export type RawTemplate = RawLayout["templates"][string];
export type RawFirewallRule = z.infer<typeof firewallRuleSchema>;
export type RawUplink = z.infer<typeof uplinkSchema>;
export type RawCloudInit = z.infer<typeof cloudInitSchema>;
