// disposable-stateless: a DispVM keeps nothing across shutdown; its root and
// private are views discarded at shutdown (qubes/vm/dispvm.py).
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { sortedDomains } from "../topology";

const NAME = "disposable-stateless";

export function check(model: HostModel): Finding[] {
  const out: Finding[] = [];
  for (const d of sortedDomains(model)) {
    if (d.class !== "DispVM") continue;
    // A cdrom (the NoCloud seed) or a read-only disk cannot keep what the qube writes.
    for (const k of d.disks.filter((x) => x.device === "disk" && !x.transient && !x.readonly)) {
      out.push(
        finding(
          NAME,
          d.qube,
          `DispVM "${d.qube}" keeps disk ${k.target} (${k.file}) across shutdown; make it transient ` +
            "(a discard-on-shutdown view of its dvm template's volume)",
        ),
      );
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "A DispVM keeps nothing across shutdown (no persistent volume). Protects against untrusted content opened " +
    "in a disposable surviving to the next use. Qubes: untrusted content opens in disposables " +
    "(qubes-rpc-policy 90-default.policy), whose volumes are discarded (qubes/vm/dispvm.py).",
  enforcementLevel: "mandatory",
  severity: "medium",
  tags: ["qubes", "storage", "disposable"],
  remediationSteps:
    "Make every writable disk of the DispVM transient (a discard-on-shutdown view of its dvm template's volume), or read-only.",
  scope: "domain",
  check,
};
