// Which libvirt objects an engine run touched. The provider logs each virsh
// call it makes when BULKHEAD_VIRSH_LOG names a file (libvirt/virsh.ts), in
// the format of the `virsh` wrapper below, which logs each call (and, for
// define calls, the object's name from the XML file) before running the real
// virsh when placed first on PATH; the wrapper cannot see commands sent to a
// persistent session, so the bench's no-op and one-change updates use the
// provider's log. `parseLog` reads either.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A static script: every value reaches it as an argument or through the
 * environment (BENCH_VIRSH_LOG, BENCH_REAL_VIRSH), never spliced into its text.
 * One printf per call, so concurrent calls append whole lines.
 */
export const WRAPPER = `#!/bin/sh
name=-
prev=
for a in "$@"; do
  if [ "$prev" = --file ] && [ -f "$a" ]; then
    n=$(sed -n -e 's:^ *<name>\\(.*\\)</name>.*:\\1:p' -e 's:^<filter name="\\([^"]*\\)".*:\\1:p' "$a" | head -n 1)
    [ -n "$n" ] && name=$n
  fi
  prev=$a
done
printf '%s | %s\\n' "$name" "$*" >> "$BENCH_VIRSH_LOG"
exec "$BENCH_REAL_VIRSH" "$@"
`;

/** Writes the wrapper as `<dir>/virsh`; put `dir` first on PATH. */
export function installWrapper(dir: string): void {
  const file = join(dir, "virsh");
  writeFileSync(file, WRAPPER);
  chmodSync(file, 0o755);
}

const KIND: Record<string, string> = {
  define: "domain",
  undefine: "domain",
  start: "domain",
  destroy: "domain",
  autostart: "domain",
  "net-define": "network",
  "net-undefine": "network",
  "net-start": "network",
  "net-destroy": "network",
  "net-autostart": "network",
  "nwfilter-define": "nwfilter",
  "nwfilter-undefine": "nwfilter",
  "pool-define": "pool",
  "pool-build": "pool",
  "pool-start": "pool",
  "pool-destroy": "pool",
  "pool-undefine": "pool",
  "pool-autostart": "pool",
  "vol-create": "volume",
  "vol-delete": "volume",
  "vol-upload": "volume",
  "vol-resize": "volume",
};

const NAME_FLAG = ["--domain", "--network", "--nwfilter", "--vol", "--pool"];

export interface LoggedCall {
  /** The virsh command (`nwfilter-define`), after `-c <uri>`. */
  command: string;
  /** `kind name` of the object a changing command acts on; undefined for read-only commands. */
  object?: string;
}

/** Parses the wrapper's log lines (`<xml name or -> | -c <uri> <command> <args…>`). */
export function parseLog(text: string): LoggedCall[] {
  const out: LoggedCall[] = [];
  for (const line of text.split("\n")) {
    const bar = line.indexOf(" | ");
    if (bar < 0) continue;
    const xmlName = line.slice(0, bar);
    const args = line.slice(bar + 3).split(" ");
    const rest = args[0] === "-c" ? args.slice(2) : args;
    const command = rest[0] ?? "";
    const kind = KIND[command];
    if (kind === undefined) {
      out.push({ command });
      continue;
    }
    // The object's own flag wins (vol-create names the pool with --pool but the volume in its XML).
    const flag = kind === "volume" ? "--vol" : NAME_FLAG.find((f) => rest.includes(f));
    const i = flag === undefined ? -1 : rest.indexOf(flag);
    const name = i >= 0 ? rest[i + 1] : xmlName !== "-" ? xmlName : "?";
    out.push({ command, object: `${kind} ${name ?? "?"}` });
  }
  return out;
}

/** The distinct objects changing calls acted on, sorted. */
export function touchedObjects(calls: readonly LoggedCall[]): string[] {
  return [...new Set(calls.flatMap((c) => (c.object === undefined ? [] : [c.object])))].sort();
}
