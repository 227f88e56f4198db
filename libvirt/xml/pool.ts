// Pool XML <-> PoolArgs (directory pools only).
import type { PoolArgs } from "../types";
import { attrs, buildXml, child, definedOnly, parseXml, requireAttr, text } from "./xml";

/** What the pool XML holds: the args without the connection and autostart. */
export type PoolXmlSpec = Omit<PoolArgs, "uri" | "autostart">;
export type ParsedPool = PoolXmlSpec & { uuid?: string };

export function renderPoolXml(spec: PoolXmlSpec, extra: { uuid?: string } = {}): string {
  return buildXml("pool", {
    ...attrs({ type: spec.type }),
    name: spec.name,
    uuid: extra.uuid,
    target: { path: spec.target.path },
  });
}

export function parsePoolXml(xml: string): ParsedPool {
  const pool = parseXml(xml, "pool", []);
  const name = text(pool, "name");
  const path = text(child(pool, "target"), "path");
  if (name === undefined || path === undefined) throw new Error("<pool> needs <name> and <target><path>");
  return definedOnly({
    type: requireAttr(pool, "type", "pool") as "dir",
    name,
    uuid: text(pool, "uuid"),
    target: { path },
  });
}
