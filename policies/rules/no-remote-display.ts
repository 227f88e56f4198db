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
  if (/^127(\.\d{1,3}){3}$/.test(address) || address === "localhost") return true;
  const groups = ipv6Groups(address);
  if (groups === undefined) return false;
  const zeros = (n: number) => groups.slice(0, n).every((g) => g === 0);
  // ::1, however written (a live host may show 0:0:0:0:0:0:0:1), and an
  // IPv4-mapped 127/8 address (::ffff:127.0.0.1, which the loader prints as ::ffff:7f00:1).
  return (zeros(7) && groups[7] === 1) || (zeros(5) && groups[5] === 0xffff && groups[6] >> 8 === 0x7f);
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad allowed), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const quad = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (quad !== null) {
    const b = quad.slice(2).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    text = `${quad[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
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
  severity: "high",
  tags: ["qubes", "display"],
  remediationSteps:
    "Make graphics listen on 127.0.0.1 (or a local socket) and reach them through an SSH tunnel; remove qemuCommandline arguments.",
  scope: "domain",
  check,
  remediate,
};
