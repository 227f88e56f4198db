// From the schema-checked layout to the resolved model: cross-references checked once
// (names exist, netvms provide network, no loops, keys on the classes they apply to),
// defaults applied, qubes ordered and numbered. Pure: no I/O, `now` is an argument.
// Isolation rules that a valid layout may still break (PCI on an AppVM, a template
// with a netvm) are not errors here; the policy pack judges them.
import * as path from "node:path";
import { assignAddresses, isProvider } from "./addresses";
import { compareNames, hinter } from "./errors";
import type { PathSegment, RawIssue } from "./issues";
import type {
  CloudInitSettings,
  FirewallRule,
  Label,
  QubeClass,
  ResolvedHost,
  ResolvedLayout,
  ResolvedQube,
  ResolvedTemplate,
  Uplink,
} from "./model";
import type { RawCloudInit, RawFirewallRule, RawLayout, RawQube, RawUplink } from "./schema";

export const QUBE_DEFAULTS = { label: "gray" as Label, memory: 400, vcpus: 2, privateBytes: 2 * 1024 ** 3 };
export const TEMPLATE_DEFAULTS = { format: "qcow2" as const, memory: 1024, vcpus: 2, label: "black" as Label };
export const HOST_DEFAULTS: ResolvedHost = {
  uri: "qemu:///system",
  domainType: "kvm",
  pool: "bulkhead",
  poolPath: "/var/lib/libvirt/bulkhead",
  prefix: "",
  images: ["/var/lib/libvirt/images"],
};
export const DEFAULT_DISPLAY_LISTEN = "127.0.0.1";
/** Misspelt names past this many get no "did you mean" (a hostile layout has thousands). */
export const HINTS = 100;

export type ResolveResult = { ok: true; layout: ResolvedLayout } | { ok: false; issues: RawIssue[] };

const article = (cls: string) => (/^[AEIOU]/.test(cls) ? "an" : "a");

/** Resolves a schema-valid layout; `now` is epoch seconds (for firewall `expire`). */
export function resolveLayout(raw: RawLayout, source: string, now: number): ResolveResult {
  const issues: RawIssue[] = [];
  const report = (path: PathSegment[], message: string) => issues.push({ path, message });
  const templates = raw.templates;
  const qubes = raw.qubes;
  const templateNames = Object.keys(templates);
  const qubeNames = Object.keys(qubes);
  const isTemplate = (name: string) => Object.hasOwn(templates, name);
  const isQube = (name: string) => Object.hasOwn(qubes, name);

  for (const name of qubeNames) {
    if (isTemplate(name)) {
      report(["qubes", name], `"${name}" is already a template name; names are unique across templates and qubes`);
    }
  }

  // At most HINTS "did you mean"s per layout: each costs candidates x word length.
  const didYouMean = hinter(HINTS);
  // A rename keeps the old name's objects (and data): the old name must be free, and claimed once.
  const renamedBy = new Map<string, string>();
  for (const name of qubeNames) {
    const q = qubes[name];
    if (q.class === "DispVM" && q.discard_data !== undefined) {
      report(["qubes", name, "discard_data"], "a DispVM keeps no data; remove discard_data");
    }
    const olds = namesOf(q.renamed_from);
    olds.forEach((old, i) => {
      const path: PathSegment[] = typeof q.renamed_from === "string" ? ["qubes", name, "renamed_from"] : ["qubes", name, "renamed_from", i];
      if (old === name) report(path, `"${old}" is this qube's own name; remove it from renamed_from`);
      else if (isQube(old) || isTemplate(old)) {
        report(path, `"${old}" is still in the layout; a qube can take over the objects of a name no other qube or template uses`);
      } else if (renamedBy.has(old)) {
        report(path, `"${old}" is already claimed by qube "${renamedBy.get(old)}"; only one qube can be renamed from it`);
      } else renamedBy.set(old, name);
    });
  }

  // Computed once: per-issue filtering would be quadratic on a hostile layout.
  const providerNames = qubeNames.filter((n) => isProvider(qubes[n].class));
  const dvmNames = qubeNames.filter((n) => qubes[n].template_for_dispvms === true);

  /** Message for a netvm reference that is not a provider, or undefined when fine. */
  const netvmProblem = (target: string): string | undefined => {
    if (isTemplate(target)) return `"${target}" is a template, not a qube; netvm names a NetVM or ProxyVM`;
    if (!isQube(target)) {
      return `"${target}" is not a qube${didYouMean(target, providerNames)}`;
    }
    const cls = qubes[target].class;
    return isProvider(cls)
      ? undefined
      : `"${target}" is ${article(cls)} ${cls} and does not provide network; use a NetVM or ProxyVM`;
  };
  /** The TemplateVM a qube boots (a DispVM through its AppVM), if the layout names one. */
  const rootTemplateName = (name: string): string | undefined => {
    const q = qubes[name];
    const t = q.template ?? defaults.template;
    if (t === undefined) return undefined;
    if (q.class !== "DispVM") return t;
    return Object.hasOwn(qubes, t) ? (qubes[t].template ?? defaults.template) : undefined;
  };
  const templateProblem = (target: string): string | undefined => {
    if (isTemplate(target)) return undefined;
    const where = isQube(target) ? `"${target}" is a qube, not a template` : `"${target}" is not a template`;
    return `${where}${didYouMean(target, templateNames)}`;
  };

  // Defaults are checked once, where they are written, not again in every qube using them.
  const defaults = raw.defaults ?? {};
  let defaultNetvmOk = true;
  if (defaults.template !== undefined) {
    const problem = templateProblem(defaults.template);
    if (problem !== undefined) report(["defaults", "template"], problem);
  }
  if (defaults.netvm !== undefined && defaults.netvm !== null) {
    const problem = netvmProblem(defaults.netvm);
    if (problem !== undefined) {
      report(["defaults", "netvm"], problem);
      defaultNetvmOk = false;
    }
  }

  const imageDirs = (raw.host?.images ?? HOST_DEFAULTS.images).map(normalDir);
  for (const name of templateNames) {
    const problem = imageProblem(templates[name].image, imageDirs, raw.host?.images !== undefined);
    if (problem !== undefined) report(["templates", name, "image"], problem);
  }

  for (const name of templateNames) {
    const netvm = templates[name].netvm;
    if (netvm !== undefined && netvm !== null) {
      const problem = netvmProblem(netvm);
      if (problem !== undefined) report(["templates", name, "netvm"], problem);
    }
  }

  // Resolved netvm per qube (explicit, else class default, else defaults.netvm).
  const netvmOf = new Map<string, string | null>();
  const netvmValid = new Map<string, boolean>();
  for (const name of qubeNames) {
    const q = qubes[name];
    const path = (key: string): PathSegment[] => ["qubes", name, key];
    const explicit = q.netvm !== undefined;
    const netvm = explicit ? (q.netvm ?? null) : classDefaultNetvm(q.class, defaults.netvm);
    netvmOf.set(name, netvm);
    let valid = true;
    if (netvm !== null && (explicit || defaultNetvmOk)) {
      const problem = netvmProblem(netvm);
      if (problem !== undefined) {
        report(path("netvm"), problem);
        valid = false;
      }
    }
    netvmValid.set(name, valid && (explicit || defaultNetvmOk));

    if (q.uplink !== undefined && q.class !== "NetVM") {
      report(path("uplink"), `uplink applies only to a NetVM, not ${article(q.class)} ${q.class}; remove it or make this qube class: NetVM`);
    }
    if (q.uplink === undefined && q.class === "NetVM") {
      report(path("uplink"), "a NetVM needs an uplink: add uplink: with one of pci, macvtap, bridge, network");
    }
    if (q.template_for_dispvms !== undefined && q.class !== "AppVM") {
      report(path("template_for_dispvms"), `template_for_dispvms applies only to an AppVM, not ${article(q.class)} ${q.class}; remove it`);
    }
    if (q.private !== undefined && q.class === "DispVM") {
      report(path("private"), "a DispVM keeps nothing across shutdown, so it has no private volume; remove private");
    }
    if (q.firewall !== undefined && netvm === null) {
      report(path("firewall"), "firewall applies only to a qube with a netvm; this one is offline: remove firewall or set netvm");
    }
    if (q.cloud_init !== undefined && isProvider(q.class)) {
      for (const key of ["packages", "write_files", "runcmd"] as const) {
        if (q.cloud_init[key] !== undefined) {
          report(
            [...path("cloud_init"), key],
            `a ${q.class} provides network: only bulkhead runs commands and writes files as root there, so nothing can ` +
              `switch its ruleset off; remove ${key} (users and ssh_authorized_keys are fine)`,
          );
        }
      }
    }
    const memory = q.memory ?? defaults.memory ?? QUBE_DEFAULTS.memory;
    if (q.maxmem !== undefined && q.maxmem < memory) {
      report(path("maxmem"), `maxmem ${q.maxmem} is below memory ${memory}; raise maxmem or lower memory`);
    }
    if (q.class === "DispVM") {
      const problem = dispvmTemplateProblem(q, qubes, isTemplate, dvmNames.length > 0 ? dvmNames : qubeNames, didYouMean);
      if (problem !== undefined) report(path("template"), problem);
    } else if (q.template !== undefined) {
      const problem = templateProblem(q.template);
      if (problem !== undefined) report(path("template"), problem);
    } else if (defaults.template === undefined) {
      report(path("template"), "no template: set template: here or template: under defaults");
    }
  }

  // What a template's cloud-init does as root stays in its image, which its providers boot.
  for (const tname of templateNames) {
    const ci = templates[tname].cloud_init;
    if (ci === undefined) continue;
    const providers = providerNames.filter((n) => rootTemplateName(n) === tname).sort(compareNames);
    if (providers.length === 0) continue;
    for (const key of ["packages", "write_files", "runcmd"] as const) {
      if (ci[key] !== undefined) {
        report(
          ["templates", tname, "cloud_init", key],
          `${providers.join(", ")} (network providers) boot from this template, and what it installs or runs as root stays in its image; ` +
            `remove ${key}, or give the providers a template of their own (as Qubes does with a minimal template for sys-net and sys-firewall)`,
        );
      }
    }
  }

  for (const cycle of netvmCycles(netvmOf, netvmValid)) {
    const first = cycle[0];
    // A hostile loop can be thousands long; the message stays one readable line.
    const shown = cycle.length > 8 ? [...cycle.slice(0, 8), `… (${cycle.length} qubes)`] : cycle;
    const loop = `netvm loop: ${[...shown, first].join(" -> ")}`;
    if (cycle.length === 1) {
      const fromDefaults = qubes[first].netvm === undefined ? " (from defaults.netvm)" : "";
      report(["qubes", first, "netvm"], `${loop}${fromDefaults}; a qube cannot be its own netvm: set netvm: to the qube it gets network from`);
    } else {
      report(["qubes", first, "netvm"], `${loop}; give one of them a netvm outside the loop (every chain ends at a NetVM)`);
    }
  }

  if (issues.length > 0) return { ok: false, issues };

  const host: ResolvedHost = {
    uri: raw.host?.uri ?? HOST_DEFAULTS.uri,
    domainType: raw.host?.domainType ?? HOST_DEFAULTS.domainType,
    pool: raw.host?.pool ?? HOST_DEFAULTS.pool,
    poolPath: raw.host?.poolPath ?? HOST_DEFAULTS.poolPath,
    prefix: raw.host?.prefix ?? HOST_DEFAULTS.prefix,
    images: imageDirs,
    ...(raw.host?.memory === undefined ? {} : { memory: raw.host.memory }),
  };

  const resolvedTemplates: ResolvedTemplate[] = [...templateNames].sort(compareNames).map((name) => {
    const t = templates[name];
    return {
      name,
      image: t.image.startsWith("https://") ? t.image : path.posix.normalize(t.image),
      ...(t.sha256 === undefined ? {} : { sha256: t.sha256 }),
      format: t.format ?? TEMPLATE_DEFAULTS.format,
      ...(t.boot === undefined ? {} : { boot: { ...t.boot } }),
      memory: t.memory ?? TEMPLATE_DEFAULTS.memory,
      vcpus: t.vcpus ?? TEMPLATE_DEFAULTS.vcpus,
      label: t.label ?? TEMPLATE_DEFAULTS.label,
      netvm: t.netvm ?? null,
      ...(t.guest_agent === undefined ? {} : { guestAgent: t.guest_agent }),
      ...(t.cloud_init === undefined ? {} : { cloudInit: mergeCloudInit(undefined, t.cloud_init) }),
    };
  });

  const plan = assignAddresses(host.prefix, [
    ...qubeNames.map((name) => ({
      name,
      class: qubes[name].class,
      netvm: netvmOf.get(name) ?? null,
      uplink: qubes[name].class === "NetVM" && qubes[name].uplink !== undefined && qubes[name].uplink?.pci === undefined,
    })),
    // A template with a netvm (a policy violation) gets a real port, so only template-offline fires.
    ...resolvedTemplates.filter((t) => t.netvm !== null).map((t) => ({ name: t.name, class: "TemplateVM" as const, netvm: t.netvm })),
  ]);
  if (plan.problems.length > 0) {
    return { ok: false, issues: plan.problems.map((p) => ({ path: ["qubes", p.qube], message: p.message })) };
  }
  for (const t of resolvedTemplates) {
    const addressing = plan.addressing.get(t.name);
    if (addressing !== undefined) t.addressing = addressing;
  }

  const resolved = new Map<string, ResolvedQube>();
  for (const name of qubeNames) {
    const q = qubes[name];
    const netvm = netvmOf.get(name) ?? null;
    const template = q.template ?? (defaults.template as string);
    const rootTemplate = q.class === "DispVM" ? (qubes[template].template ?? (defaults.template as string)) : template;
    const addressing = plan.addressing.get(name);
    const provides = plan.provides.get(name);
    const uplinkMac = plan.uplinkMacs.get(name);
    const cloudInit = mergeCloudInit(templates[rootTemplate]?.cloud_init, q.cloud_init);
    resolved.set(name, {
      name,
      class: q.class,
      template,
      rootTemplate,
      netvm,
      label: q.label ?? defaults.label ?? QUBE_DEFAULTS.label,
      memory: q.memory ?? defaults.memory ?? QUBE_DEFAULTS.memory,
      ...(q.maxmem === undefined ? {} : { maxmem: q.maxmem }),
      vcpus: q.vcpus ?? defaults.vcpus ?? QUBE_DEFAULTS.vcpus,
      autostart: q.autostart ?? (q.class === "NetVM" || q.class === "ProxyVM" || q.class === "UsbVM"),
      ...(q.class === "DispVM" ? {} : { privateBytes: q.private ?? QUBE_DEFAULTS.privateBytes }),
      ...(q.discard_data === true ? { discardData: true as const } : {}),
      ...(q.renamed_from === undefined ? {} : { renamedFrom: namesOf(q.renamed_from) }),
      ...(q.class === "DispVM" && qubes[template]?.renamed_from !== undefined ? { templateStorage: namesOf(qubes[template].renamed_from)[0] } : {}),
      templateForDispvms: q.template_for_dispvms ?? false,
      firewall: netvm === null ? [] : resolveFirewall(q.firewall, now),
      ...(q.uplink === undefined ? {} : { uplink: toUplink(q.uplink) }),
      devices: { pci: [...(q.devices?.pci ?? [])], usb: (q.devices?.usb ?? []).map((u) => ({ ...u })) },
      ...(q.display === undefined || q.display === "none"
        ? {}
        : { display: { type: q.display.type, listen: q.display.listen ?? DEFAULT_DISPLAY_LISTEN } }),
      ...(q.kernelopts === undefined ? {} : { kernelopts: q.kernelopts }),
      ...(addressing === undefined ? {} : { addressing }),
      ...(provides === undefined ? {} : { provides }),
      ...(uplinkMac === undefined ? {} : { uplinkMac }),
      ...(cloudInit === undefined ? {} : { cloudInit }),
    });
  }

  return {
    ok: true,
    layout: { source, host, templates: resolvedTemplates, qubes: orderQubes([...resolved.values()]) },
  };
}

/** `/a/b/../c/` -> `/a/c`. */
function normalDir(dir: string): string {
  const n = path.posix.normalize(dir);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/**
 * Why a template image may not be used, judged offline on the path as written: after
 * resolving `..` it must lie under one of `host.images` (links are the deploy's to resolve).
 */
export function imageProblem(image: string, dirs: readonly string[], declared: boolean): string | undefined {
  if (image.startsWith("https://")) return undefined;
  const file = path.posix.normalize(image);
  if (dirs.some((d) => file.startsWith(d === "/" ? "/" : `${d}/`) && file !== d)) return undefined;
  const where = declared ? `host.images (${dirs.join(", ")})` : `${dirs[0]} (the default host.images)`;
  return `${JSON.stringify(file)} is not under ${where}; move the image there, or add its directory to host.images`;
}

/**
 * A qube's cloud-init settings: its template's users and ssh_authorized_keys (the template's
 * packages, files and commands ran in the template itself), then its own; a user the qube
 * names again replaces the template's. A template passes `inherited` undefined and keeps all.
 */
export function mergeCloudInit(inherited: RawCloudInit | undefined, own: RawCloudInit | undefined): CloudInitSettings | undefined {
  if (inherited === undefined && own === undefined) return undefined;
  const ownUsers = own?.users ?? [];
  const users = [...(inherited?.users ?? []).filter((u) => !ownUsers.some((o) => o.name === u.name)), ...ownUsers];
  return {
    users: users.map((u) => ({ ...u, ...(u.ssh_authorized_keys ? { ssh_authorized_keys: [...u.ssh_authorized_keys] } : {}), ...(u.groups ? { groups: [...u.groups] } : {}) })),
    ssh_authorized_keys: [...new Set([...(inherited?.ssh_authorized_keys ?? []), ...(own?.ssh_authorized_keys ?? [])])],
    packages: [...(own?.packages ?? [])],
    write_files: (own?.write_files ?? []).map((f) => ({ ...f })),
    runcmd: (own?.runcmd ?? []).map((c) => (typeof c === "string" ? c : [...c])),
  };
}

/** `renamed_from` as a list, oldest first. */
function namesOf(renamedFrom: string | string[] | undefined): string[] {
  return renamedFrom === undefined ? [] : typeof renamedFrom === "string" ? [renamedFrom] : [...renamedFrom];
}

/** NetVMs and UsbVMs are offline unless told otherwise; everyone else takes defaults.netvm. */
function classDefaultNetvm(cls: QubeClass, defaultNetvm: string | null | undefined): string | null {
  if (cls === "NetVM" || cls === "UsbVM") return null;
  return defaultNetvm ?? null;
}

function dispvmTemplateProblem(
  q: RawQube,
  qubes: RawLayout["qubes"],
  isTemplate: (name: string) => boolean,
  candidates: string[],
  didYouMean: (word: string, candidates: readonly string[]) => string,
): string | undefined {
  const need = "a DispVM's template must be an AppVM with template_for_dispvms: true";
  const target = q.template;
  if (target === undefined) return `${need}; add template: <that AppVM>`;
  if (isTemplate(target)) return `"${target}" is a TemplateVM; ${need}`;
  if (!Object.hasOwn(qubes, target)) {
    const hint = didYouMean(target, candidates);
    return hint === "" ? `"${target}" is not a qube; ${need}` : `"${target}" is not a qube${hint}`;
  }
  const cls = qubes[target].class;
  if (cls !== "AppVM") return `"${target}" is ${article(cls)} ${cls}; ${need}`;
  if (qubes[target].template_for_dispvms !== true) {
    return `"${target}" does not have template_for_dispvms: true; set it on "${target}" to use it as a DispVM template`;
  }
  return undefined;
}

/**
 * Every netvm cycle once, each rotated to start at its smallest name. Each qube has at
 * most one netvm, so following the edges from each start finds every cycle.
 */
export function netvmCycles(netvmOf: Map<string, string | null>, valid: Map<string, boolean>): string[][] {
  const done = new Set<string>();
  const cycles: string[][] = [];
  for (const start of [...netvmOf.keys()].sort(compareNames)) {
    const walk: string[] = [];
    const onWalk = new Map<string, number>();
    let node: string | null | undefined = start;
    while (node !== null && node !== undefined && !done.has(node) && netvmOf.has(node)) {
      if (onWalk.has(node)) {
        const cycle = walk.slice(onWalk.get(node));
        const min = cycle.reduce((a, b) => (compareNames(a, b) <= 0 ? a : b));
        const at = cycle.indexOf(min);
        cycles.push([...cycle.slice(at), ...cycle.slice(0, at)]);
        break;
      }
      onWalk.set(node, walk.length);
      walk.push(node);
      node = valid.get(node) === false ? null : netvmOf.get(node);
    }
    for (const seen of walk) done.add(seen);
  }
  return cycles;
}

/** Qubes' rule list minus expired rules (expire <= now); `expire` itself is not kept. */
export function resolveFirewall(rules: RawFirewallRule[] | undefined, now: number): FirewallRule[] {
  if (rules === undefined) return [{ action: "accept" }];
  return rules
    .filter((rule) => rule.expire === undefined || rule.expire > now)
    .map((rule) => {
      const out: FirewallRule = { action: rule.action };
      if (rule.dsthost !== undefined) out.dsthost = rule.dsthost;
      if (rule.proto !== undefined) out.proto = rule.proto;
      if (rule.dstports !== undefined) out.dstports = { ...rule.dstports };
      if (rule.icmptype !== undefined) out.icmptype = rule.icmptype;
      if (rule.specialtarget !== undefined) out.specialtarget = rule.specialtarget;
      if (rule.comment !== undefined) out.comment = rule.comment;
      return out;
    });
}

export function toUplink(uplink: RawUplink): Uplink {
  if (uplink.pci !== undefined) return { kind: "pci", addresses: [...uplink.pci] };
  if (uplink.macvtap !== undefined) return { kind: "macvtap", dev: uplink.macvtap.dev };
  if (uplink.bridge !== undefined) return { kind: "bridge", bridge: uplink.bridge };
  return { kind: "network", network: uplink.network as string };
}

/**
 * Dependency order: each qube after its netvm and its DispVM template. Sorting by
 * (depth in that graph, name) gives that order and keeps it stable by name.
 * Iterative, so a long hostile chain cannot overflow the stack.
 */
export function orderQubes(qubes: ResolvedQube[]): ResolvedQube[] {
  const byName = new Map(qubes.map((q) => [q.name, q]));
  const deps = (q: ResolvedQube) =>
    [q.netvm, q.class === "DispVM" ? q.template : null].filter((d): d is string => d !== null && byName.has(d));
  const depth = new Map<string, number>();
  for (const q of qubes) {
    // Iterative DFS; `path` holds the frames being expanded. Loops are rejected before
    // this runs; skipping deps on the path only keeps a bad caller from hanging.
    const path = new Set<string>();
    const stack = [{ name: q.name, expanded: false }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (depth.has(frame.name)) {
        stack.pop();
      } else if (!frame.expanded) {
        frame.expanded = true;
        path.add(frame.name);
        for (const d of deps(byName.get(frame.name) as ResolvedQube)) {
          if (!depth.has(d) && !path.has(d)) stack.push({ name: d, expanded: false });
        }
      } else {
        const below = deps(byName.get(frame.name) as ResolvedQube).map((d) => depth.get(d) ?? -1);
        depth.set(frame.name, Math.max(-1, ...below) + 1);
        path.delete(frame.name);
        stack.pop();
      }
    }
  }
  return [...qubes].sort(
    (a, b) => (depth.get(a.name) as number) - (depth.get(b.name) as number) || compareNames(a.name, b.name),
  );
}
