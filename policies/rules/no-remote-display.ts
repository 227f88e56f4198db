// no-remote-display: the GUI of a qube stays on the machine (in Qubes only
// dom0 draws qube windows, developer/system/architecture); a display server
// listening on the network, or raw QEMU arguments that bypass libvirt's
// checks, would expose a qube past every other rule.
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { sortedDomains } from "../topology";

const NAME = "no-remote-display";
const LOOPBACK = "127.0.0.1";

export function isLoopback(address: string): boolean {
  return /^127(\.\d{1,3}){3}$/.test(address) || address === "::1" || address === "localhost";
}

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    for (const g of d.graphics) {
      if (g.listen.type !== "address" || isLoopback(g.listen.address)) continue;
      const where = g.listen.address === "" ? "the default address (possibly every interface)" : g.listen.address;
      out.push(
        finding(NAME, d.qube, `${g.type} display of ${d.class} "${d.qube}" listens on ${where}; listen on ${LOOPBACK} (or a local socket) and reach it through an SSH tunnel`, true),
      );
    }
    if (d.qemuCommandline.length > 0) {
      out.push(
        finding(NAME, d.qube, `${d.class} "${d.qube}" passes raw QEMU arguments (${d.qemuCommandline.join(" ")}); remove qemuCommandline: it bypasses every libvirt-level rule`),
      );
    }
  }
  return out;
}

/** Moves every non-loopback graphics listen to 127.0.0.1; raw QEMU arguments are left for a human. */
export function remediate(props: Record<string, unknown>): Record<string, unknown> | undefined {
  const devices = props.devices as { graphics?: unknown } | undefined;
  if (devices === undefined || !Array.isArray(devices.graphics)) return undefined;
  let changed = false;
  const graphics = (devices.graphics as Record<string, unknown>[]).map((g) => {
    const listen = (g.listen ?? {}) as { type?: unknown; address?: unknown };
    const byAddress = listen.type === undefined || listen.type === "address";
    if (!byAddress || (typeof listen.address === "string" && isLoopback(listen.address))) return g;
    changed = true;
    return { ...g, listen: { type: "address", address: LOOPBACK } };
  });
  return changed ? { ...props, devices: { ...devices, graphics } } : undefined;
}

export const rule: Rule = {
  name: NAME,
  description:
    "Graphics listen on loopback or a local socket only, and no raw QEMU command-line passthrough. Protects " +
    "against a qube's screen and keyboard being reachable from the network, and against QEMU options that " +
    "bypass the other rules. Qubes: only dom0 displays qube windows (developer/system/architecture). " +
    "At level remediate, a non-loopback listen is moved to 127.0.0.1.",
  enforcementLevel: "mandatory",
  scope: "domain",
  check,
  remediate,
};
