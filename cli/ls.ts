// `bulkhead ls [--uri] [--prefix]`: the bulkhead qubes on a live host (read by
// libvirt/host.ts), as qvm-ls lists them (cli/listing.ts).
import { bulkheadDomains, HostUnreachable, readHost, type Scope } from "../libvirt/host";
import type { DomainArgs } from "../libvirt/types";
import { noDomains } from "./audit";

/** `bulkhead ls`: the bulkhead qubes of a live host, qvm-ls style. */
export async function runLs(opts: { uri: string } & Scope): Promise<number> {
  let domains: DomainArgs[];
  try {
    domains = bulkheadDomains(await readHost(opts.uri, opts), opts);
  } catch (e) {
    if (!(e instanceof HostUnreachable)) throw e;
    process.stderr.write(`bulkhead ls: ${e.message.split("\n")[0]}\n`);
    return 2;
  }
  if (domains.length === 0) {
    process.stderr.write(`bulkhead ls: ${noDomains(opts.uri, opts.prefix).replace("audit", "list")}\n`);
    return 2;
  }
  const { lsTable } = await import("./listing.js");
  process.stdout.write(lsTable(domains));
  return 0;
}
