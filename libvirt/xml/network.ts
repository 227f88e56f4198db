// Network XML <-> NetworkArgs. A qube-facing network has no <ip> and no
// <forward>: leaving them out is what keeps the host off that network.
import type { NetworkArgs } from "../types";
import {
  XmlNode,
  attr,
  attrs,
  buildXml,
  child,
  children,
  definedOnly,
  parseBool,
  parseNum,
  parseXml,
  requireAttr,
  requireNum,
  text,
  yesNo,
} from "./xml";
import { OWNER_TAG, type Owner, ownerNode, parseOwner } from "./owner";

/** What the network XML holds: the args without the connection and autostart. */
export type NetworkXmlSpec = Omit<NetworkArgs, "uri" | "autostart">;
export type ParsedNetwork = NetworkXmlSpec & { uuid?: string; owner?: Owner };

export function renderNetworkXml(spec: NetworkXmlSpec, extra: { uuid?: string; owner?: Owner } = {}): string {
  const b = spec.bridge;
  const node: XmlNode = {
    name: spec.name,
    uuid: extra.uuid,
    metadata: extra.owner === undefined ? undefined : { [OWNER_TAG]: ownerNode(extra.owner) },
    forward: spec.forward ? attrs({ mode: spec.forward.mode, dev: spec.forward.dev }) : undefined,
    bridge: b
      ? attrs({ name: b.name, stp: b.stp === undefined ? undefined : b.stp ? "on" : "off", delay: b.delay })
      : undefined,
    mtu: spec.mtu === undefined ? undefined : attrs({ size: spec.mtu }),
    port: spec.port ? attrs({ isolated: yesNo(spec.port.isolated) }) : undefined,
    ip: spec.ips?.map((ip) =>
      attrs({ family: ip.address.includes(":") ? "ipv6" : undefined, address: ip.address, prefix: ip.prefix }),
    ),
  };
  return buildXml("network", node);
}

export function parseNetworkXml(xml: string): ParsedNetwork {
  const net = parseXml(xml, "network", ["network.ip"]);
  const forward = child(net, "forward");
  const bridge = child(net, "bridge");
  const port = child(net, "port");
  const ips = children(net, "ip").map((ip) => ({
    address: requireAttr(ip, "address", "ip"),
    prefix: requireNum(attr(ip, "prefix"), "ip prefix"),
  }));
  const name = text(net, "name");
  if (name === undefined) throw new Error("<network> has no <name>");
  return definedOnly({
    name,
    uuid: text(net, "uuid"),
    owner: parseOwner(child(net, "metadata")),
    bridge: bridge
      ? definedOnly({
          name: attr(bridge, "name"),
          stp: parseBool(attr(bridge, "stp"), "bridge stp"),
          delay: parseNum(attr(bridge, "delay"), "bridge delay"),
        })
      : undefined,
    forward: forward
      ? definedOnly({ mode: requireAttr(forward, "mode", "forward") as NonNullable<NetworkArgs["forward"]>["mode"], dev: attr(forward, "dev") })
      : undefined,
    ips: ips.length > 0 ? ips : undefined,
    port: port ? { isolated: parseBool(attr(port, "isolated"), "port isolated") ?? false } : undefined,
    mtu: parseNum(attr(child(net, "mtu"), "size"), "mtu size"),
  });
}
