// The layout package's public face: load a layout, or use its pure parts.
export { loadLayout, parseLayout, type LoadOptions } from "./load";
export { LayoutError, formatIssue } from "./errors";
export { assignAddresses, fnv1a32, macFor, DNS_SERVERS } from "./addresses";
export { layoutSchema, type RawLayout, type RawLayoutInput } from "./schema";
export type * from "./model";
