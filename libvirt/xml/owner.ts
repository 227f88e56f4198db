// Who made a libvirt object: the Pulumi stack and project whose provider
// defined it, written into the object's own `<metadata>` (domains and, since
// libvirt 9, networks) so that the host itself says whose an object is. The
// provider adds it from the resource's URN; it is not an input, so it never
// shows in a diff or a policy.
import { XmlNode, attr, attrs } from "./xml";

export const OWNER_XMLNS = "https://bulkhead.dev/xmlns/libvirt/owner/1";
export const OWNER_TAG = "bulkhead-owner:owner";

export interface Owner {
  project: string;
  stack: string;
}

/** `urn:pulumi:<stack>::<project>::…` -> its owner. */
export function ownerOfUrn(urn: string): Owner {
  const [head = "", project = ""] = urn.split("::");
  return { project, stack: head.split(":").slice(2).join(":") };
}

export function sameOwner(a: Owner | undefined, b: Owner | undefined): boolean {
  return a !== undefined && b !== undefined && a.project === b.project && a.stack === b.stack;
}

export function describeOwner(o: Owner | undefined): string {
  return o === undefined ? "no bulkhead stack" : `stack ${o.stack} of project ${o.project}`;
}

/** The element to put under `<metadata>`. */
export function ownerNode(owner: Owner): XmlNode {
  return attrs({ "xmlns:bulkhead-owner": OWNER_XMLNS, project: owner.project, stack: owner.stack });
}

/** Our owner element under a parsed `<metadata>`, whatever prefix it was written with. */
export function parseOwner(metadata: XmlNode | undefined): Owner | undefined {
  if (!metadata) return undefined;
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith("@_") || key === "#text") continue;
    const prefix = key.includes(":") ? key.slice(0, key.indexOf(":")) : undefined;
    for (const el of Array.isArray(value) ? value : [value]) {
      if (typeof el !== "object" || el === null || Array.isArray(el)) continue;
      if (attr(el as XmlNode, prefix ? `xmlns:${prefix}` : "xmlns") !== OWNER_XMLNS) continue;
      const project = attr(el as XmlNode, "project");
      const stack = attr(el as XmlNode, "stack");
      if (project !== undefined && stack !== undefined) return { project, stack };
    }
  }
  return undefined;
}
