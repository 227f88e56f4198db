// Shared plumbing for the libvirt XML renderers and parsers. XML is only ever
// built and read through fast-xml-parser, so a name holding a quote or `<` is
// escaped by the library and can never inject markup.
import { XMLBuilder, XMLParser } from "fast-xml-parser";

/** An element as fast-xml-parser sees it: `@_x` attributes, child elements, `#text`. */
export type XmlNode = { [key: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[] | undefined;

const ATTR = "@_";

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  format: true,
  indentBy: "  ",
  suppressEmptyNode: true,
  processEntities: true,
});

/** Drops undefined values so optional parts simply do not appear. */
function prune(value: XmlValue): XmlValue {
  if (Array.isArray(value)) return value.map(prune).filter((v) => v !== undefined);
  if (value === undefined || typeof value === "string") return value;
  const out: XmlNode = {};
  for (const [k, v] of Object.entries(value)) {
    const p = prune(v);
    if (p !== undefined) out[k] = p;
  }
  return out;
}

export function buildXml(root: string, node: XmlNode): string {
  return builder.build({ [root]: prune(node) }) as string;
}

/**
 * Parses `xml` and returns its `root` element. `arrays` lists the dotted paths
 * (e.g. `domain.devices.disk`) of elements that may repeat, so they always come
 * back as arrays, even when there is only one.
 */
export function parseXml(xml: string, root: string, arrays: readonly string[]): XmlNode {
  const arraySet = new Set(arrays);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: ATTR,
    parseTagValue: false,
    parseAttributeValue: false,
    // libvirt may write numeric character references; decode them too.
    htmlEntities: true,
    trimValues: true,
    isArray: (_name, jpath, _leaf, isAttribute) => !isAttribute && arraySet.has(String(jpath)),
  });
  const doc = parser.parse(xml) as XmlNode;
  const el = doc[root];
  if (el === undefined || Array.isArray(el)) throw new Error(`expected one <${root}> element`);
  return typeof el === "string" ? {} : el;
}

/** The element `name` under `node` as a node (an empty element parses as ""). */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  const v = node?.[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return asNode(v[0]);
  return asNode(v);
}

/** Every `name` element under `node`. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const v = node?.[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(asNode);
}

function asNode(v: XmlValue): XmlNode {
  if (v === undefined || Array.isArray(v)) return {};
  return typeof v === "string" ? { "#text": v } : v;
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[ATTR + name];
  return typeof v === "string" ? v : undefined;
}

export function requireAttr(node: XmlNode | undefined, name: string, where: string): string {
  const v = attr(node, name);
  if (v === undefined) throw new Error(`<${where}> has no ${name} attribute`);
  return v;
}

/** Text content of element `name` under `node`. */
export function text(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[name];
  if (v === undefined) return undefined;
  const n = Array.isArray(v) ? v[0] : v;
  if (typeof n === "string") return n;
  if (n === undefined || Array.isArray(n)) return "";
  const t = n["#text"];
  return typeof t === "string" ? t : "";
}

export function has(node: XmlNode | undefined, name: string): boolean {
  return node?.[name] !== undefined;
}

/** Attribute map for the builder: `{ a: 1 }` -> `{ "@_a": "1" }`, undefined skipped. */
export function attrs(values: Record<string, string | number | undefined>): XmlNode {
  const out: XmlNode = {};
  for (const [k, v] of Object.entries(values)) {
    if (v !== undefined) out[ATTR + k] = String(v);
  }
  return out;
}

export function textNode(value: string | number, attributes: Record<string, string | number | undefined> = {}): XmlNode {
  return { ...attrs(attributes), "#text": String(value) };
}

/** An element with no content: built as `<x/>`. */
export const EMPTY = "";

export function yesNo(b: boolean): string {
  return b ? "yes" : "no";
}

export function parseBool(s: string | undefined, what: string): boolean | undefined {
  if (s === undefined) return undefined;
  if (s === "yes" || s === "on" || s === "true" || s === "1") return true;
  if (s === "no" || s === "off" || s === "false" || s === "0") return false;
  throw new Error(`${what}: ${JSON.stringify(s)} is not a boolean`);
}

export function parseNum(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n)) throw new Error(`${what}: ${JSON.stringify(s)} is not a number`);
  return n;
}

export function requireNum(s: string | undefined, what: string): number {
  const n = parseNum(s, what);
  if (n === undefined) throw new Error(`${what} is missing`);
  return n;
}

const UNIT_BYTES: Record<string, number> = {
  b: 1, bytes: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** A libvirt scaled integer (`<memory unit='KiB'>`) in bytes; `defaultUnit` when no unit is given. */
export function scaledBytes(node: XmlNode | undefined, name: string, defaultUnit: string): number | undefined {
  const raw = text(node, name);
  if (raw === undefined) return undefined;
  const unit = (attr(child(node, name), "unit") ?? defaultUnit).toLowerCase();
  const factor = UNIT_BYTES[unit];
  if (factor === undefined) throw new Error(`<${name}>: unknown unit ${JSON.stringify(unit)}`);
  return requireNum(raw, `<${name}>`) * factor;
}

/** Copies entries whose value is not undefined, so parsed objects carry only what the XML holds. */
export function definedOnly<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as T;
}
