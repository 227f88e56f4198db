// NwFilter XML <-> NwFilterArgs. Filter references come first, then the rules
// in the order given; each rule holds exactly one protocol element.
import type { NwFilterArgs, NwFilterMatch, NwFilterProtocol, NwFilterRule } from "../types";
import {
  XmlNode,
  attr,
  attrs,
  buildXml,
  children,
  definedOnly,
  parseBool,
  parseNum,
  parseXml,
  requireAttr,
  requireNum,
  text,
} from "./xml";

/** What the filter XML holds: the args without the connection. */
export type NwFilterXmlSpec = Omit<NwFilterArgs, "uri">;
export type ParsedNwFilter = NwFilterXmlSpec & { uuid?: string };

export const NWFILTER_PROTOCOLS: readonly NwFilterProtocol[] = [
  "all", "tcp", "udp", "icmp", "all-ipv6", "tcp-ipv6", "udp-ipv6", "icmpv6", "mac", "arp", "ip", "ipv6",
];

const NUMERIC_MATCH = ["srcipmask", "dstipmask", "dstportstart", "dstportend", "type"] as const;
const MATCH_KEYS: readonly (keyof NwFilterMatch)[] = [
  "srcipaddr", "srcipmask", "dstipaddr", "dstipmask", "dstportstart", "dstportend", "type", "state", "comment",
];

export function renderNwFilterXml(spec: NwFilterXmlSpec, extra: { uuid?: string } = {}): string {
  const node: XmlNode = {
    ...attrs({ name: spec.name, chain: spec.chain, priority: spec.priority }),
    uuid: extra.uuid,
    filterref: spec.filterrefs?.map((f) => ({
      ...attrs({ filter: f.filter }),
      parameter: f.parameters ? Object.entries(f.parameters).map(([name, value]) => attrs({ name, value })) : undefined,
    })),
    rule: spec.rules.map(renderRule),
  };
  return buildXml("filter", node);
}

function renderRule(r: NwFilterRule): XmlNode {
  const match: Record<string, string | number | undefined> = {};
  for (const k of MATCH_KEYS) match[k] = r.match?.[k];
  return {
    ...attrs({
      action: r.action,
      direction: r.direction,
      priority: r.priority,
      statematch: r.statematch === undefined ? undefined : String(r.statematch),
    }),
    [r.protocol]: attrs(match),
  };
}

export function parseNwFilterXml(xml: string): ParsedNwFilter {
  const f = parseXml(xml, "filter", ["filter.filterref", "filter.filterref.parameter", "filter.rule"]);
  const filterrefs = children(f, "filterref").map((ref) => {
    const params = children(ref, "parameter");
    return definedOnly({
      filter: requireAttr(ref, "filter", "filterref"),
      parameters:
        params.length > 0
          ? Object.fromEntries(params.map((p) => [requireAttr(p, "name", "parameter"), attr(p, "value") ?? ""]))
          : undefined,
    });
  });
  return definedOnly({
    name: requireAttr(f, "name", "filter"),
    uuid: text(f, "uuid"),
    chain: attr(f, "chain"),
    priority: parseNum(attr(f, "priority"), "filter priority"),
    filterrefs: filterrefs.length > 0 ? filterrefs : undefined,
    rules: children(f, "rule").map(parseRule),
  });
}

function parseRule(r: XmlNode): NwFilterRule {
  const protocols = NWFILTER_PROTOCOLS.filter((p) => r[p] !== undefined);
  if (protocols.length !== 1) throw new Error(`<rule> must hold exactly one protocol element, found ${protocols.length}`);
  const protocol = protocols[0];
  const el = children(r, protocol)[0];
  const match: NwFilterMatch = {};
  for (const k of MATCH_KEYS) {
    const v = attr(el, k);
    if (v === undefined) continue;
    if ((NUMERIC_MATCH as readonly string[]).includes(k)) {
      (match as Record<string, number>)[k] = requireNum(v, `rule ${protocol} ${k}`);
    } else {
      (match as Record<string, string>)[k] = v;
    }
  }
  return definedOnly({
    action: requireAttr(r, "action", "rule") as NwFilterRule["action"],
    direction: requireAttr(r, "direction", "rule") as NwFilterRule["direction"],
    priority: requireNum(attr(r, "priority"), "rule priority"),
    statematch: parseBool(attr(r, "statematch"), "rule statematch"),
    protocol,
    match: Object.keys(match).length > 0 ? match : undefined,
  });
}
