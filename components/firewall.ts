// qvm-firewall rules -> libvirt nwfilter. The host enforces a qube's egress
// rules on the qube's own port (Qubes enforces them in the netvm, user/security-in-qubes/firewall), so a
// compromised provider cannot lift them. Pure: no Pulumi here.
import type { FirewallRule } from "../layout/model";
import { actionRuns } from "../layout/resolve";
import { MAX_ACTION_RUNS } from "../layout/schema";
import { isHostName } from "../layout/values";
import { expireTag } from "../libvirt/expire";
import type { NwFilterArgs, NwFilterMatch, NwFilterProtocol, NwFilterRule } from "../libvirt/types";

/** Qubes' virtual DNS pair, the targets of `specialtarget: dns` by default. */
export const QUBES_DNS: readonly string[] = ["10.139.1.1", "10.139.1.2"];

/**
 * Priority of the first layout rule. Rules of one run of the same action share a
 * priority (their order among themselves cannot change the verdict: the first
 * match and any other match give the same action), so each change between
 * accept and drop takes the next priority. libvirt sorts a filter's rules by
 * priority only (not stably), and its range is -1000..1000.
 */
export const FIRST_PRIORITY = 100;
/** The lowest priority libvirt takes; used only when the runs do not fit from FIRST_PRIORITY. */
export const LOWEST_PRIORITY = -1000;
/** The final drop runs after everything else (libvirt's highest rule priority). */
export const FINAL_PRIORITY = 1000;
/** Runs of same-action rules that fit below the final drop (layout/schema.ts refuses more). */
export const MAX_RUNS = MAX_ACTION_RUNS;

export interface FirewallFilterInput {
  /** libvirt connection URI. */
  uri: string;
  /** Filter name, e.g. `work-fw`. */
  name: string;
  /** The qube's rules, in order (first match wins). */
  rules: readonly FirewallRule[];
  /** The qube's DNS servers (targets of `specialtarget: dns`). */
  dns?: readonly string[];
}

/**
 * Compiles a qube's firewall into an nwfilter: `clean-traffic` first (the
 * interface passes the `IP` parameter, so the qube cannot spoof), then the
 * rules in order, then a drop of all remaining egress. accept and drop are
 * terminal in nwfilter, so increasing priorities give "first match wins".
 * A rule whose `dsthost` is a DNS name matches the addresses the name gave
 * when this run resolved it (none offline, in `bulkhead check`).
 */
export function compileFirewall(input: FirewallFilterInput): NwFilterArgs {
  const runs = actionRuns(input.rules);
  if (runs > MAX_RUNS) {
    throw new Error(
      `${input.name}: ${runs} runs of same-action firewall rules do not fit libvirt's priority range (at most ${MAX_RUNS})`,
    );
  }
  const first = FINAL_PRIORITY - FIRST_PRIORITY >= runs ? FIRST_PRIORITY : FINAL_PRIORITY - runs;
  const dns = input.dns ?? QUBES_DNS;
  let priority = first - 1;
  const rules = input.rules.flatMap((rule, i) => {
    if (i === 0 || input.rules[i - 1].action !== rule.action) priority++;
    const at = priority;
    return expandRule(rule, dns).map((r) => ({ ...r, priority: at }));
  });
  const hosts = hostNames(input.rules);
  return {
    uri: input.uri,
    name: input.name,
    chain: "root",
    filterrefs: [{ filter: "clean-traffic" }],
    rules: [...rules, ...finalDrop()],
    ...(hosts === undefined ? {} : { hosts }),
  };
}

/** What each DNS name in the rules resolved to, for the preview and the state (not in the filter XML). */
function hostNames(rules: readonly FirewallRule[]): Record<string, string[]> | undefined {
  const named = rules.filter((r) => r.dsthost !== undefined && isHostName(r.dsthost));
  if (named.length === 0) return undefined;
  return Object.fromEntries(named.map((r) => [r.dsthost as string, [...(r.addresses ?? [])]]));
}

/** The nwfilter comment of a layout rule: its expiry (so audit can see it), then the layout's comment. */
export function ruleComment(rule: FirewallRule): string | undefined {
  const parts = [rule.expire === undefined ? undefined : expireTag(rule.expire), rule.comment].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? undefined : parts.join(" ");
}

/** Qubes' implicit policy: whatever no rule accepted is dropped. */
export function finalDrop(): NwFilterRule[] {
  return [
    { action: "drop", direction: "out", priority: FINAL_PRIORITY, protocol: "all" },
    { action: "drop", direction: "out", priority: FINAL_PRIORITY, protocol: "all-ipv6" },
  ];
}

type Family = "ipv4" | "ipv6";
type Proto = "tcp" | "udp" | "icmp" | "all";

interface Target {
  family: Family;
  address?: string;
  mask?: number;
}

/**
 * One layout rule -> nwfilter rules (without priority). A rule without a
 * destination covers both families, as in Qubes; `specialtarget: dns` means
 * tcp and udp port 53 to each DNS server.
 */
export function expandRule(rule: FirewallRule, dns: readonly string[] = QUBES_DNS): Omit<NwFilterRule, "priority">[] {
  const targets = ruleTargets(rule, dns);
  const protos: Proto[] = rule.proto ? [rule.proto] : rule.specialtarget === "dns" ? ["tcp", "udp"] : ["all"];
  const ports = rule.specialtarget === "dns" ? { start: 53, end: 53 } : rule.dstports;
  const out: Omit<NwFilterRule, "priority">[] = [];
  for (const target of targets) {
    for (const proto of protos) {
      const match: NwFilterMatch = {};
      if (target.address !== undefined) {
        match.dstipaddr = target.address;
        match.dstipmask = target.mask;
      }
      if (ports && (proto === "tcp" || proto === "udp")) {
        match.dstportstart = ports.start;
        match.dstportend = ports.end;
      }
      if (proto === "icmp" && rule.icmptype !== undefined) match.type = rule.icmptype;
      const comment = ruleComment(rule);
      if (comment !== undefined) match.comment = comment;
      const r: Omit<NwFilterRule, "priority"> = {
        action: rule.action,
        direction: "out",
        protocol: protocolFor(proto, target.family),
      };
      if (Object.keys(match).length > 0) r.match = match;
      out.push(r);
      const reply = rule.action === "accept" && proto === "icmp" ? echoReply(rule.icmptype, target) : undefined;
      if (reply !== undefined) out.push(reply);
    }
  }
  return out;
}

/** ICMP request types and the type of their answer (echo, timestamp, information, address mask; ICMPv6 echo). */
const ICMP_REPLIES: Readonly<Record<Family, Readonly<Record<number, number>>>> = {
  ipv4: { 8: 0, 13: 14, 15: 16, 17: 18 },
  ipv6: { 128: 129 },
};

/**
 * The answer to an accepted ICMP request of one type. libvirt lets replies of
 * an accepted rule back in by matching the same rule reversed, so a typed rule
 * (`icmptype: 8`) would only let echo *requests* back in, never the echo
 * reply (type 0): the ping the rule accepts would go unanswered. This rule
 * lets in the reply type, on established flows only, from the rule's target.
 */
function echoReply(type: number | undefined, target: Target): Omit<NwFilterRule, "priority"> | undefined {
  const replyType = type === undefined ? undefined : ICMP_REPLIES[target.family][type];
  if (replyType === undefined) return undefined;
  const match: NwFilterMatch = { type: replyType, state: "ESTABLISHED" };
  if (target.address !== undefined) {
    match.srcipaddr = target.address;
    match.srcipmask = target.mask;
  }
  return { action: "accept", direction: "in", protocol: protocolFor("icmp", target.family), match };
}

function ruleTargets(rule: FirewallRule, dns: readonly string[]): Target[] {
  if (rule.specialtarget === "dns") return dns.map((a) => hostTarget(a));
  if (rule.dsthost !== undefined && isHostName(rule.dsthost)) return (rule.addresses ?? []).map((a) => hostTarget(a));
  if (rule.dsthost !== undefined) return [hostTarget(rule.dsthost)];
  return [{ family: "ipv4" }, { family: "ipv6" }];
}

/** `a.b.c.d/len`, `x::/len` or a bare address (a single host). */
function hostTarget(dsthost: string): Target {
  const [address, len] = dsthost.split("/");
  const family: Family = address.includes(":") ? "ipv6" : "ipv4";
  const mask = len === undefined ? (family === "ipv4" ? 32 : 128) : Number(len);
  return { family, address, mask };
}

function protocolFor(proto: Proto, family: Family): NwFilterProtocol {
  if (family === "ipv4") return proto;
  return proto === "icmp" ? "icmpv6" : `${proto}-ipv6`;
}
