// Type tokens of the project's resources, the one place they are spelled, without
// the Pulumi SDK that resources.ts needs: components/compile.ts names resources by these too.
// The libvirt resources (the provider's kinds):
export const POOL_TYPE = "bulkhead:libvirt:Pool";
export const VOLUME_TYPE = "bulkhead:libvirt:Volume";
export const NETWORK_TYPE = "bulkhead:libvirt:Network";
export const NWFILTER_TYPE = "bulkhead:libvirt:NwFilter";
export const DOMAIN_TYPE = "bulkhead:libvirt:Domain";

/** What every libvirt resource's token starts with; the rest is its kind (`Domain`, …). */
export const LIBVIRT_TYPE_PREFIX = "bulkhead:libvirt:";

/** True for the token of one of the provider's libvirt resources. */
export function isLibvirtType(type: string): boolean {
  return type.startsWith(LIBVIRT_TYPE_PREFIX);
}

/** The kind of a libvirt resource's token (`bulkhead:libvirt:Domain` -> `Domain`). */
export function libvirtKind(type: string): string {
  return type.slice(LIBVIRT_TYPE_PREFIX.length);
}

// The component resources (Qubes' classes and the whole layout):
export const QUBES_TYPE_PREFIX = "bulkhead:qubes:";
export const LAYOUT_TYPE = "bulkhead:qubes:Layout";
export const TEMPLATEVM_TYPE = "bulkhead:qubes:TemplateVM";
export const APPVM_TYPE = "bulkhead:qubes:AppVM";
export const NETVM_TYPE = "bulkhead:qubes:NetVM";
export const PROXYVM_TYPE = "bulkhead:qubes:ProxyVM";
export const USBVM_TYPE = "bulkhead:qubes:UsbVM";
export const DISPVM_TYPE = "bulkhead:qubes:DispVM";
export const STANDALONEVM_TYPE = "bulkhead:qubes:StandaloneVM";

/** The component token of a qube class (`AppVM` -> `bulkhead:qubes:AppVM`). */
export function qubeType(cls: string): string {
  return QUBES_TYPE_PREFIX + cls;
}
