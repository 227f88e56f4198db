// Input checks for the libvirt resources (the provider's `check`). Each schema
// is typed against the contract in libvirt/types.ts, so the two
// cannot drift apart; values are normalised to the spelling libvirt writes
// back (lower-case MACs, zero-padded hex), which keeps refresh diffs quiet.
import { z } from "zod";
import type {
  DomainArgs,
  NetworkArgs,
  NwFilterArgs,
  PoolArgs,
  VolumeArgs,
} from "../libvirt/types";
import { uriProblem } from "../libvirt/uri";
import { DOMAIN_TYPE, NETWORK_TYPE, NWFILTER_TYPE, POOL_TYPE, VOLUME_TYPE } from "../libvirt/tokens";

const libvirtName = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => !s.includes("/") && !s.includes("\n"), "must not contain '/' or a newline");
const uri = z.string().superRefine((value, ctx) => {
  const problem = uriProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});
const absPath = z.string().refine((s) => s.startsWith("/"), "must be an absolute path");
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const params = z.record(z.string(), z.string());

/** `0x1F` -> `0x001f` for width 4: libvirt's own spelling of PCI/USB ids. */
const hex = (width: number) =>
  z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, "must be hex with a 0x prefix")
    .transform((s) => `0x${Number.parseInt(s.slice(2), 16).toString(16).padStart(width, "0")}`);

const mac = z
  .string()
  .regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, "must be a MAC address like 52:54:00:12:34:56")
  .transform((s) => s.toLowerCase());

const connection = { uri, name: libvirtName };

export const poolSchema: z.ZodType<PoolArgs, unknown> = z.strictObject({
  ...connection,
  type: z.literal("dir"),
  target: z.strictObject({ path: absPath }),
  autostart: z.boolean().optional(),
});

const imageFormat = z.enum(["qcow2", "raw"]);

export const volumeSchema: z.ZodType<VolumeArgs, unknown> = z
  .strictObject({
    ...connection,
    pool: libvirtName,
    capacity: int(1),
    format: imageFormat,
    source: z
      .union([
        z.strictObject({ file: absPath }),
        z.strictObject({ url: z.string().startsWith("https://", "must be an https:// URL"), sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits") }),
      ])
      .optional(),
    imageDirs: z.array(absPath).min(1).optional(),
    seed: z
      .strictObject({
        metaData: z.string(),
        userData: z.string(),
        networkConfig: z.string().optional(),
        files: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    backingStore: z.strictObject({ path: absPath, format: imageFormat }).optional(),
    preserve: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.source && "file" in v.source && v.imageDirs === undefined) {
      ctx.addIssue({ code: "custom", path: ["imageDirs"], message: "a volume filled from source.file needs imageDirs: the directories the file may come from" });
    }
    if (v.preserve && v.seed) ctx.addIssue({ code: "custom", path: ["preserve"], message: "a seed is rebuilt from its files; it holds no data to preserve" });
    if (v.source && v.seed) ctx.addIssue({ code: "custom", path: ["seed"], message: "a volume is filled from source or seed, not both" });
    if ((v.source || v.seed) && v.backingStore) {
      ctx.addIssue({ code: "custom", path: ["backingStore"], message: "a copy-on-write volume cannot also be filled from source or seed" });
    }
    if (v.seed && v.format !== "raw") ctx.addIssue({ code: "custom", path: ["format"], message: "a seed image must be raw" });
    if (v.backingStore && v.format !== "qcow2") {
      ctx.addIssue({ code: "custom", path: ["format"], message: "only qcow2 volumes can have a backing store" });
    }
  });

export const networkSchema: z.ZodType<NetworkArgs, unknown> = z.strictObject({
  ...connection,
  bridge: z
    .strictObject({ name: libvirtName.optional(), stp: z.boolean().optional(), delay: int(0).optional() })
    .optional(),
  forward: z.strictObject({ mode: z.enum(["nat", "route", "open", "bridge"]), dev: z.string().min(1).optional() }).optional(),
  ips: z.array(z.strictObject({ address: z.string().min(2), prefix: int(0, 128) })).optional(),
  port: z.strictObject({ isolated: z.boolean() }).optional(),
  mtu: int(68, 65535).optional(),
  autostart: z.boolean().optional(),
});

const nwfilterMatch = z
  .strictObject({
    srcipaddr: z.string().min(1).optional(),
    srcipmask: int(0, 128).optional(),
    dstipaddr: z.string().min(1).optional(),
    dstipmask: int(0, 128).optional(),
    dstportstart: int(0, 65535).optional(),
    dstportend: int(0, 65535).optional(),
    type: int(0, 255).optional(),
    state: z.string().regex(/^[A-Z]+(,[A-Z]+)*$/, "must be states like NEW or ESTABLISHED,RELATED").optional(),
    comment: z.string().max(256).optional(),
  })
  .refine((m) => m.dstportend === undefined || m.dstportstart === undefined || m.dstportend >= m.dstportstart, {
    message: "dstportend must not be below dstportstart",
    path: ["dstportend"],
  });

export const nwfilterSchema: z.ZodType<NwFilterArgs, unknown> = z.strictObject({
  ...connection,
  chain: z.string().min(1).optional(),
  priority: int(-1000, 1000).optional(),
  filterrefs: z.array(z.strictObject({ filter: libvirtName, parameters: params.optional() })).optional(),
  rules: z.array(
    z.strictObject({
      action: z.enum(["accept", "drop", "reject", "return", "continue"]),
      direction: z.enum(["in", "out", "inout"]),
      priority: int(-1000, 1000),
      statematch: z.boolean().optional(),
      protocol: z.enum(["all", "tcp", "udp", "icmp", "all-ipv6", "tcp-ipv6", "udp-ipv6", "icmpv6", "mac", "arp", "ip", "ipv6"]),
      match: nwfilterMatch.optional(),
    }),
  ),
  hosts: z.record(z.string().min(1), z.array(z.string().min(1))).optional(),
});

const disk = z.strictObject({
  type: z.literal("file"),
  device: z.enum(["disk", "cdrom"]),
  driver: z.strictObject({ name: z.literal("qemu"), type: imageFormat }),
  source: z.strictObject({ file: absPath }),
  target: z.strictObject({ dev: z.string().regex(/^[a-z]+[a-z0-9]*$/, "must be a device name like vda"), bus: z.enum(["virtio", "sata", "scsi", "ide"]) }),
  transient: z.strictObject({ shareBacking: z.boolean() }).optional(),
  readonly: z.boolean().optional(),
  serial: z.string().regex(/^[A-Za-z0-9_ .+-]{1,20}$/, "must be up to 20 letters, digits or _ .+-").optional(),
});

const iface = z
  .strictObject({
    type: z.enum(["network", "bridge", "direct"]),
    source: z.strictObject({
      network: libvirtName.optional(),
      bridge: z.string().min(1).optional(),
      dev: z.string().min(1).optional(),
      mode: z.enum(["vepa", "bridge", "private", "passthrough"]).optional(),
    }),
    mac: z.strictObject({ address: mac }),
    model: z.strictObject({ type: z.enum(["virtio", "e1000", "rtl8139"]) }),
    port: z.strictObject({ isolated: z.boolean() }).optional(),
    filterref: z.strictObject({ filter: libvirtName, parameters: params.optional() }).optional(),
  })
  .superRefine((i, ctx) => {
    const need = i.type === "network" ? "network" : i.type === "bridge" ? "bridge" : "dev";
    if (i.source[need] === undefined) ctx.addIssue({ code: "custom", path: ["source", need], message: `a ${i.type} interface needs source.${need}` });
  });

const hostdev = z.discriminatedUnion("type", [
  z.strictObject({
    mode: z.literal("subsystem"),
    type: z.literal("pci"),
    managed: z.boolean(),
    source: z.strictObject({
      address: z.strictObject({ domain: hex(4), bus: hex(2), slot: hex(2), function: hex(1) }),
    }),
  }),
  z.strictObject({
    mode: z.literal("subsystem"),
    type: z.literal("usb"),
    managed: z.boolean().optional(),
    source: z.strictObject({ vendor: z.strictObject({ id: hex(4) }), product: z.strictObject({ id: hex(4) }) }),
  }),
]);

const graphics = z.strictObject({
  type: z.enum(["spice", "vnc"]),
  listen: z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("address"), address: z.string().min(1) }),
    z.strictObject({ type: z.literal("socket"), socket: absPath.optional() }),
    z.strictObject({ type: z.literal("none") }),
  ]),
  autoport: z.boolean().optional(),
});

const serial = z.strictObject({
  type: z.enum(["file", "pty"]),
  source: z.strictObject({ path: absPath }).optional(),
  target: z.strictObject({ port: int(0, 3) }).optional(),
});

const channel = z.strictObject({
  type: z.literal("unix"),
  target: z.strictObject({ type: z.literal("virtio"), name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }),
});

export const domainSchema: z.ZodType<DomainArgs, unknown> = z
  .strictObject({
    ...connection,
    type: z.enum(["kvm", "qemu"]),
    memory: int(1),
    currentMemory: int(1).optional(),
    vcpu: int(1, 512),
    metadata: z.strictObject({
      class: z.enum(["TemplateVM", "AppVM", "NetVM", "ProxyVM", "UsbVM", "DispVM", "StandaloneVM"]),
      qube: z.string().min(1),
      netvm: z.string().min(1).optional(),
      template: z.string().min(1).optional(),
      label: z.string().min(1),
      layout: z.string(),
      providesNetwork: z.literal(true).optional(),
    }),
    os: z.strictObject({
      type: z.literal("hvm"),
      arch: z.string().min(1).optional(),
      machine: z.string().min(1).optional(),
      kernel: absPath.optional(),
      initrd: absPath.optional(),
      cmdline: z.string().optional(),
      boot: z.array(z.enum(["hd", "cdrom", "network"])).optional(),
    }),
    features: z.strictObject({ acpi: z.boolean(), apic: z.boolean().optional() }),
    devices: z.strictObject({
      disks: z.array(disk),
      interfaces: z.array(iface),
      hostdevs: z.array(hostdev),
      graphics: z.array(graphics),
      serials: z.array(serial),
      channels: z.array(channel).optional(),
      controllers: z
        .array(z.strictObject({ type: z.enum(["usb", "pci", "virtio-serial"]), model: z.string().min(1).optional(), index: int(0).optional() }))
        .optional(),
    }),
    qemuCommandline: z.array(z.string()).optional(),
    autostart: z.boolean(),
    running: z.boolean(),
  })
  .superRefine((d, ctx) => {
    if (d.currentMemory !== undefined && d.currentMemory > d.memory) {
      ctx.addIssue({ code: "custom", path: ["currentMemory"], message: `must not exceed memory (${d.memory} MiB)` });
    }
    const seen = new Set<string>();
    d.devices.disks.forEach((disk, i) => {
      if (seen.has(disk.target.dev)) ctx.addIssue({ code: "custom", path: ["devices", "disks", i, "target", "dev"], message: `${disk.target.dev} is used twice` });
      seen.add(disk.target.dev);
      if (disk.transient && !d.features.acpi) {
        // libvirt hot-plugs transient disks at start, which needs ACPI.
        ctx.addIssue({ code: "custom", path: ["devices", "disks", i, "transient"], message: "a transient disk needs features.acpi: true" });
      }
    });
    if (d.os.initrd !== undefined && d.os.kernel === undefined) {
      ctx.addIssue({ code: "custom", path: ["os", "initrd"], message: "an initrd needs os.kernel" });
    }
  });

/** Each resource type's input schema: the provider's `check`, and `bulkhead check` offline (cli/inputs.ts). */
export const INPUT_SCHEMAS: Readonly<Record<string, z.ZodType<unknown, unknown>>> = {
  [DOMAIN_TYPE]: domainSchema,
  [NETWORK_TYPE]: networkSchema,
  [NWFILTER_TYPE]: nwfilterSchema,
  [POOL_TYPE]: poolSchema,
  [VOLUME_TYPE]: volumeSchema,
};

/** `devices.disks[0].source.file` from a zod issue path. */
export function propertyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out;
}
