// template-offline: a TemplateVM has no network interface; Qubes templates
// have no netvm and get updates through a proxy (qubes/vm/templatevm.py).
import type { HostModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { describeInterface, list, sortedDomains } from "../topology";

const NAME = "template-offline";

export function check(model: HostModel): Finding[] {
  return sortedDomains(model)
    .filter((d) => d.class === "TemplateVM" && d.interfaces.length > 0)
    .map((d) =>
      finding(
        NAME,
        d.qube,
        `TemplateVM "${d.qube}" has a network interface (${list(d.interfaces.map(describeInterface))}); ` +
          "remove its netvm: templates stay offline and get updates through a proxy",
      ),
    );
}

export const rule: Rule = {
  name: NAME,
  description:
    "Template domains have no network interface. Protects every qube built on a template from a template " +
    "compromised over the network: a template is as trusted as the most trusted qube based on it. " +
    "Qubes: a template's netvm defaults to none (qubes/vm/templatevm.py; user/templates/templates).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "network", "template"],
  remediationSteps:
    "Remove the template's netvm (netvm: null, the default): templates stay offline and get updates through a proxy.",
  scope: "domain",
  check,
};
