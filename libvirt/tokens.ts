// Type tokens of the project's libvirt resources, without the Pulumi SDK that
// resources.ts needs: planLayout names resources by these too.
export const POOL_TYPE = "bulkhead:libvirt:Pool";
export const VOLUME_TYPE = "bulkhead:libvirt:Volume";
export const NETWORK_TYPE = "bulkhead:libvirt:Network";
export const NWFILTER_TYPE = "bulkhead:libvirt:NwFilter";
export const DOMAIN_TYPE = "bulkhead:libvirt:Domain";
