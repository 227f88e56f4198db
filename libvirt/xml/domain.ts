// Domain XML <-> DomainArgs. Only what the model declares is written; nothing
// is added behind the user's back (no default graphics, consoles or channels).
import { OWNER_TAG, type Owner, ownerNode, parseOwner } from "./owner";
import type {
  BulkheadMetadata,
  ChannelSpec,
  ControllerSpec,
  DiskSpec,
  DomainArgs,
  GraphicsSpec,
  HostdevSpec,
  InterfaceSpec,
  SerialSpec,
} from "../types";
import {
  EMPTY,
  XmlNode,
  attr,
  attrs,
  buildXml,
  child,
  children,
  definedOnly,
  has,
  parseBool,
  parseNum,
  parseXml,
  requireAttr,
  requireNum,
  scaledBytes,
  text,
  textNode,
  yesNo,
} from "./xml";

/** What the domain XML holds: the args without the connection and the lifecycle flags. */
export type DomainXmlSpec = Omit<DomainArgs, "uri" | "autostart" | "running">;
/** A domain as read back; `metadata` is absent when someone removed it by hand. */
export type ParsedDomain = Omit<DomainXmlSpec, "metadata"> & { metadata?: BulkheadMetadata; uuid?: string; owner?: Owner };

/** Namespace of bulkhead's `<metadata>` element; libvirt keeps it across define/dumpxml. */
export const BULKHEAD_XMLNS = "https://bulkhead.dev/xmlns/libvirt/qube/1";
const META_TAG = "bulkhead:qube";
const QEMU_XMLNS = "http://libvirt.org/schemas/domain/qemu/1.0";

const MIB = 1024 * 1024;

export function renderDomainXml(spec: DomainXmlSpec, extra: { uuid?: string; owner?: Owner } = {}): string {
  const m = spec.metadata;
  const d = spec.devices;
  const node: XmlNode = {
    ...attrs({ type: spec.type, "xmlns:qemu": spec.qemuCommandline ? QEMU_XMLNS : undefined }),
    name: spec.name,
    uuid: extra.uuid,
    metadata: {
      [META_TAG]: attrs({
        "xmlns:bulkhead": BULKHEAD_XMLNS,
        class: m.class,
        qube: m.qube,
        netvm: m.netvm,
        template: m.template,
        label: m.label,
        layout: m.layout,
        provides_network: m.providesNetwork === true ? "true" : undefined,
      }),
      [OWNER_TAG]: extra.owner === undefined ? undefined : ownerNode(extra.owner),
    },
    memory: textNode(spec.memory, { unit: "MiB" }),
    currentMemory: spec.currentMemory === undefined ? undefined : textNode(spec.currentMemory, { unit: "MiB" }),
    vcpu: String(spec.vcpu),
    os: {
      type: textNode(spec.os.type, { arch: spec.os.arch, machine: spec.os.machine }),
      kernel: spec.os.kernel,
      initrd: spec.os.initrd,
      cmdline: spec.os.cmdline,
      boot: spec.os.boot?.map((dev) => attrs({ dev })),
    },
    features: {
      acpi: spec.features.acpi ? EMPTY : undefined,
      apic: spec.features.apic ? EMPTY : undefined,
    },
    devices: {
      disk: d.disks.map(renderDisk),
      controller: d.controllers?.map(renderController),
      interface: d.interfaces.map(renderInterface),
      serial: d.serials.map(renderSerial),
      channel: d.channels?.map(renderChannel),
      graphics: d.graphics.map(renderGraphics),
      hostdev: d.hostdevs.map(renderHostdev),
    },
    "qemu:commandline": spec.qemuCommandline
      ? { "qemu:arg": spec.qemuCommandline.map((value) => attrs({ value })) }
      : undefined,
  };
  return buildXml("domain", node);
}

function renderDisk(disk: DiskSpec): XmlNode {
  return {
    ...attrs({ type: disk.type, device: disk.device }),
    driver: attrs({ name: disk.driver.name, type: disk.driver.type }),
    source: attrs({ file: disk.source.file }),
    target: attrs({ dev: disk.target.dev, bus: disk.target.bus }),
    transient: disk.transient ? attrs({ shareBacking: yesNo(disk.transient.shareBacking) }) : undefined,
    readonly: disk.readonly ? EMPTY : undefined,
    serial: disk.serial,
  };
}

function renderController(c: ControllerSpec): XmlNode {
  return attrs({ type: c.type, index: c.index, model: c.model });
}

function renderParameters(parameters: Record<string, string> | undefined): XmlNode[] | undefined {
  if (!parameters) return undefined;
  return Object.entries(parameters).map(([name, value]) => attrs({ name, value }));
}

function renderInterface(i: InterfaceSpec): XmlNode {
  return {
    ...attrs({ type: i.type }),
    mac: attrs({ address: i.mac.address }),
    source: attrs({ network: i.source.network, bridge: i.source.bridge, dev: i.source.dev, mode: i.source.mode }),
    model: attrs({ type: i.model.type }),
    filterref: i.filterref
      ? { ...attrs({ filter: i.filterref.filter }), parameter: renderParameters(i.filterref.parameters) }
      : undefined,
    port: i.port ? attrs({ isolated: yesNo(i.port.isolated) }) : undefined,
  };
}

function renderSerial(s: SerialSpec): XmlNode {
  return {
    ...attrs({ type: s.type }),
    source: s.source ? attrs({ path: s.source.path }) : undefined,
    target: s.target ? attrs({ port: s.target.port }) : undefined,
  };
}

function renderChannel(c: ChannelSpec): XmlNode {
  return { ...attrs({ type: c.type }), target: attrs({ type: c.target.type, name: c.target.name }) };
}

function renderGraphics(g: GraphicsSpec): XmlNode {
  const l = g.listen;
  return {
    ...attrs({ type: g.type, autoport: g.autoport === undefined ? undefined : yesNo(g.autoport) }),
    listen: attrs({
      type: l.type,
      address: l.type === "address" ? l.address : undefined,
      socket: l.type === "socket" ? l.socket : undefined,
    }),
  };
}

function renderHostdev(h: HostdevSpec): XmlNode {
  const managed = h.managed === undefined ? undefined : yesNo(h.managed);
  if (h.type === "pci") {
    return {
      ...attrs({ mode: h.mode, type: h.type, managed }),
      source: { address: attrs({ ...h.source.address }) },
    };
  }
  return {
    ...attrs({ mode: h.mode, type: h.type, managed }),
    source: { vendor: attrs({ id: h.source.vendor.id }), product: attrs({ id: h.source.product.id }) },
  };
}

// ---------------------------------------------------------------- parse

const ARRAYS = [
  "domain.os.boot",
  "domain.devices.disk",
  "domain.devices.controller",
  "domain.devices.interface",
  "domain.devices.interface.filterref.parameter",
  "domain.devices.serial",
  "domain.devices.channel",
  "domain.devices.graphics",
  "domain.devices.hostdev",
  "domain.qemu:commandline.qemu:arg",
];

export function parseDomainXml(xml: string): ParsedDomain {
  const dom = parseXml(xml, "domain", ARRAYS);
  const os = child(dom, "os");
  const osType = child(os, "type");
  const features = child(dom, "features");
  const devices = child(dom, "devices");
  const memory = scaledBytes(dom, "memory", "KiB");
  if (memory === undefined) throw new Error("<domain> has no <memory>");
  const currentMemory = scaledBytes(dom, "currentMemory", "KiB");
  const controllers = children(devices, "controller").map(parseController);
  const channels = children(devices, "channel").map(parseChannel);
  const qemu = child(dom, "qemu:commandline");
  const boot = children(os, "boot").map((b) => requireAttr(b, "dev", "boot") as "hd" | "cdrom" | "network");
  return definedOnly({
    name: requireText(dom, "name"),
    uuid: text(dom, "uuid"),
    type: requireAttr(dom, "type", "domain") as DomainArgs["type"],
    memory: memory / MIB,
    currentMemory: currentMemory === undefined ? undefined : currentMemory / MIB,
    vcpu: requireNum(text(dom, "vcpu"), "<vcpu>"),
    metadata: parseMetadata(child(dom, "metadata")),
    owner: parseOwner(child(dom, "metadata")),
    os: definedOnly({
      type: (text(os, "type") ?? "hvm") as "hvm",
      arch: attr(osType, "arch"),
      machine: attr(osType, "machine"),
      kernel: text(os, "kernel"),
      initrd: text(os, "initrd"),
      cmdline: text(os, "cmdline"),
      boot: boot.length > 0 ? boot : undefined,
    }),
    features: definedOnly({
      acpi: has(features, "acpi"),
      apic: has(features, "apic") ? true : undefined,
    }),
    devices: definedOnly({
      disks: children(devices, "disk").map(parseDisk),
      interfaces: children(devices, "interface").map(parseInterface),
      hostdevs: children(devices, "hostdev").map(parseHostdev),
      graphics: children(devices, "graphics").map(parseGraphics),
      serials: children(devices, "serial").map(parseSerial),
      channels: channels.length > 0 ? channels : undefined,
      controllers: controllers.length > 0 ? controllers : undefined,
    }),
    qemuCommandline: qemu ? children(qemu, "qemu:arg").map((a) => requireAttr(a, "value", "qemu:arg")) : undefined,
  });
}

function requireText(node: XmlNode, name: string): string {
  const t = text(node, name);
  if (t === undefined) throw new Error(`<${name}> is missing`);
  return t;
}

/** Finds our element by its namespace URI, whatever prefix it was written with. */
function parseMetadata(metadata: XmlNode | undefined): BulkheadMetadata | undefined {
  if (!metadata) return undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith("@_") || key === "#text") continue;
    const prefix = key.includes(":") ? key.slice(0, key.indexOf(":")) : undefined;
    for (const el of Array.isArray(value) ? value : [value]) {
      if (typeof el !== "object" || Array.isArray(el)) continue;
      const ns = attr(el, prefix ? `xmlns:${prefix}` : "xmlns");
      if (ns !== BULKHEAD_XMLNS) continue;
      return definedOnly({
        class: requireAttr(el, "class", key) as BulkheadMetadata["class"],
        qube: requireAttr(el, "qube", key),
        netvm: attr(el, "netvm"),
        template: attr(el, "template"),
        label: requireAttr(el, "label", key),
        layout: requireAttr(el, "layout", key),
        providesNetwork: attr(el, "provides_network") === "true" ? (true as const) : undefined,
      });
    }
  }
  return undefined;
}

function parseDisk(disk: XmlNode): DiskSpec {
  const driver = child(disk, "driver");
  const target = child(disk, "target");
  const transient = child(disk, "transient");
  return definedOnly({
    type: requireAttr(disk, "type", "disk") as "file",
    device: (attr(disk, "device") ?? "disk") as DiskSpec["device"],
    driver: {
      name: requireAttr(driver, "name", "disk/driver") as "qemu",
      type: requireAttr(driver, "type", "disk/driver") as DiskSpec["driver"]["type"],
    },
    source: { file: requireAttr(child(disk, "source"), "file", "disk/source") },
    target: {
      dev: requireAttr(target, "dev", "disk/target"),
      bus: requireAttr(target, "bus", "disk/target") as DiskSpec["target"]["bus"],
    },
    transient: transient
      ? { shareBacking: parseBool(attr(transient, "shareBacking"), "transient shareBacking") ?? false }
      : undefined,
    readonly: has(disk, "readonly") ? true : undefined,
    serial: text(disk, "serial"),
  });
}

function parseController(c: XmlNode): ControllerSpec {
  return definedOnly({
    type: requireAttr(c, "type", "controller") as ControllerSpec["type"],
    model: attr(c, "model"),
    index: parseNum(attr(c, "index"), "controller index"),
  });
}

function parseParameters(node: XmlNode): Record<string, string> | undefined {
  const params = children(node, "parameter");
  if (params.length === 0) return undefined;
  return Object.fromEntries(params.map((p) => [requireAttr(p, "name", "parameter"), attr(p, "value") ?? ""]));
}

function parseInterface(i: XmlNode): InterfaceSpec {
  const source = child(i, "source");
  const filterref = child(i, "filterref");
  const port = child(i, "port");
  return definedOnly({
    type: requireAttr(i, "type", "interface") as InterfaceSpec["type"],
    source: definedOnly({
      network: attr(source, "network"),
      bridge: attr(source, "bridge"),
      dev: attr(source, "dev"),
      mode: attr(source, "mode") as InterfaceSpec["source"]["mode"],
    }),
    mac: { address: requireAttr(child(i, "mac"), "address", "interface/mac") },
    model: { type: requireAttr(child(i, "model"), "type", "interface/model") as InterfaceSpec["model"]["type"] },
    port: port ? { isolated: parseBool(attr(port, "isolated"), "port isolated") ?? false } : undefined,
    filterref: filterref
      ? definedOnly({ filter: requireAttr(filterref, "filter", "filterref"), parameters: parseParameters(filterref) })
      : undefined,
  });
}

function parseHostdev(h: XmlNode): HostdevSpec {
  const type = requireAttr(h, "type", "hostdev");
  const source = child(h, "source");
  const managed = parseBool(attr(h, "managed"), "hostdev managed");
  if (type === "pci") {
    const a = child(source, "address");
    return {
      mode: "subsystem",
      type: "pci",
      managed: managed ?? false,
      source: {
        address: {
          domain: requireAttr(a, "domain", "hostdev address"),
          bus: requireAttr(a, "bus", "hostdev address"),
          slot: requireAttr(a, "slot", "hostdev address"),
          function: requireAttr(a, "function", "hostdev address"),
        },
      },
    };
  }
  if (type === "usb") {
    return definedOnly({
      mode: "subsystem" as const,
      type: "usb" as const,
      managed,
      source: {
        vendor: { id: requireAttr(child(source, "vendor"), "id", "hostdev vendor") },
        product: { id: requireAttr(child(source, "product"), "id", "hostdev product") },
      },
    });
  }
  throw new Error(`<hostdev type=${JSON.stringify(type)}> is not supported`);
}

function parseGraphics(g: XmlNode): GraphicsSpec {
  const listen = child(g, "listen");
  const listenType = attr(listen, "type");
  let parsed: GraphicsSpec["listen"];
  if (listenType === "address" || (listenType === undefined && attr(g, "listen") !== undefined)) {
    parsed = { type: "address", address: attr(listen, "address") ?? attr(g, "listen") ?? "" };
  } else if (listenType === "socket") {
    parsed = definedOnly({ type: "socket" as const, socket: attr(listen, "socket") });
  } else {
    parsed = { type: "none" };
  }
  return definedOnly({
    type: requireAttr(g, "type", "graphics") as GraphicsSpec["type"],
    listen: parsed,
    autoport: parseBool(attr(g, "autoport"), "graphics autoport"),
  });
}

function parseSerial(s: XmlNode): SerialSpec {
  const source = child(s, "source");
  const path = attr(source, "path");
  const port = parseNum(attr(child(s, "target"), "port"), "serial target port");
  return definedOnly({
    type: requireAttr(s, "type", "serial") as SerialSpec["type"],
    source: path === undefined ? undefined : { path },
    target: port === undefined ? undefined : { port },
  });
}

/** A channel as declared: libvirt's generated socket path and address are not part of it. */
function parseChannel(c: XmlNode): ChannelSpec {
  const target = child(c, "target");
  return {
    type: requireAttr(c, "type", "channel") as ChannelSpec["type"],
    target: { type: requireAttr(target, "type", "channel/target") as ChannelSpec["target"]["type"], name: requireAttr(target, "name", "channel/target") },
  };
}
