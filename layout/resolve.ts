// From the schema-checked layout to the resolved model: cross-references checked once
// (names exist, netvms provide network, no loops, keys on the classes they apply to),
// defaults applied, qubes ordered and numbered. Pure: no I/O, `now` is an argument.
// Isolation rules that a valid layout may still break (PCI on an AppVM, a template
// with a netvm) are not errors here; the policy pack judges them.
import * as path from "node:path";
import { assignAddresses, isProvider, type AddressPlan } from "./addresses";
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
import { MAX_ACTION_RUNS, type RawCloudInit, type RawFirewallRule, type RawLayout, type RawQube, type RawTemplate, type RawUplink } from "./schema";

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

/** What every check reads, computed once (per-issue filtering would be quadratic on a hostile layout), and where issues go. */
interface Context {
  raw: RawLayout;
  templates: RawLayout["templates"];
  qubes: RawLayout["qubes"];
  templateNames: string[];
  qubeNames: string[];
  defaults: NonNullable<RawLayout["defaults"]>;
  /** host.images, normalised. */
  imageDirs: string[];
  /** Qubes that give network (NetVM, ProxyVM, provides_network). */
  providerNames: string[];
  /** AppVMs with template_for_dispvms. */
  dvmNames: string[];
  isTemplate: (name: string) => boolean;
  isQube: (name: string) => boolean;
  /** At most HINTS "did you mean"s per layout: each costs candidates x word length. */
  didYouMean: (word: string, candidates: readonly string[]) => string;
  issues: RawIssue[];
  report: (path: PathSegment[], message: string) => void;
}

/** Each qube's resolved netvm, and whether that reference is usable (unusable ones end cycle walks). */
interface NetvmGraph {
  netvmOf: Map<string, string | null>;
  netvmValid: Map<string, boolean>;
}

/** Resolves a schema-valid layout; `now` is epoch seconds (for firewall `expire`). */
export function resolveLayout(raw: RawLayout, source: string, now: number): ResolveResult {
  const ctx = contextOf(raw);
  checkNameClashes(ctx);
  checkKeptData(ctx);
  const defaultNetvmOk = checkDefaults(ctx);
  checkTemplateImages(ctx);
  checkTemplateNetvms(ctx);
  const graph = checkQubes(ctx, defaultNetvmOk);
  checkTemplateCloudInit(ctx);
  checkNetvmCycles(ctx, graph);
  if (ctx.issues.length > 0) return { ok: false, issues: ctx.issues };
  return buildLayout(ctx, graph, source, now);
}

function contextOf(raw: RawLayout): Context {
  const { templates, qubes } = raw;
  const issues: RawIssue[] = [];
  const qubeNames = Object.keys(qubes);
  return {
    raw,
    templates,
    qubes,
    templateNames: Object.keys(templates),
    qubeNames,
    defaults: raw.defaults ?? {},
    imageDirs: (raw.host?.images ?? HOST_DEFAULTS.images).map(normalDir),
    providerNames: qubeNames.filter((n) => isProvider(roleOf(qubes[n]))),
    dvmNames: qubeNames.filter((n) => qubes[n].template_for_dispvms === true),
    isTemplate: (name) => Object.hasOwn(templates, name),
    isQube: (name) => Object.hasOwn(qubes, name),
    didYouMean: hinter(HINTS),
    issues,
    report: (path, message) => issues.push({ path, message }),
  };
}

const roleOf = (q: RawQube) => ({ class: q.class, providesNetwork: q.provides_network === true });

// ---- Checks: each pushes its issues to ctx.report, in the order the tests pin. ----

function checkNameClashes(ctx: Context): void {
  for (const name of ctx.qubeNames) {
    if (ctx.isTemplate(name)) {
      ctx.report(["qubes", name], `"${name}" is already a template name; names are unique across templates and qubes`);
    }
  }
}

/** What a qube keeps: a DispVM no data; a rename the old name's objects, so the old name must be free and claimed once. */
function checkKeptData(ctx: Context): void {
  const renamedBy = new Map<string, string>();
  for (const name of ctx.qubeNames) {
    const q = ctx.qubes[name];
    if (q.class === "DispVM" && q.discard_data !== undefined) {
      ctx.report(["qubes", name, "discard_data"], "a DispVM keeps no data; remove discard_data");
    }
    checkRenamedFrom(ctx, name, renamedBy);
  }
}

function checkRenamedFrom(ctx: Context, name: string, renamedBy: Map<string, string>): void {
  const q = ctx.qubes[name];
  namesOf(q.renamed_from).forEach((old, i) => {
    const path: PathSegment[] = typeof q.renamed_from === "string" ? ["qubes", name, "renamed_from"] : ["qubes", name, "renamed_from", i];
    if (old === name) ctx.report(path, `"${old}" is this qube's own name; remove it from renamed_from`);
    else if (ctx.isQube(old) || ctx.isTemplate(old)) {
      ctx.report(path, `"${old}" is still in the layout; a qube can take over the objects of a name no other qube or template uses`);
    } else if (renamedBy.has(old)) {
      ctx.report(path, `"${old}" is already claimed by qube "${renamedBy.get(old)}"; only one qube can be renamed from it`);
    } else renamedBy.set(old, name);
  });
}

/** Defaults are checked once, where they are written, not again in every qube using them. Returns whether defaults.netvm is usable. */
function checkDefaults(ctx: Context): boolean {
  const { defaults } = ctx;
  if (defaults.template !== undefined) {
    const problem = templateProblem(ctx, defaults.template);
    if (problem !== undefined) ctx.report(["defaults", "template"], problem);
  }
  if (defaults.netvm !== undefined && defaults.netvm !== null) {
    const problem = netvmProblem(ctx, defaults.netvm);
    if (problem !== undefined) {
      ctx.report(["defaults", "netvm"], problem);
      return false;
    }
  }
  return true;
}

function checkTemplateImages(ctx: Context): void {
  const declared = ctx.raw.host?.images !== undefined;
  for (const name of ctx.templateNames) {
    const problem = imageProblem(ctx.templates[name].image, ctx.imageDirs, declared);
    if (problem !== undefined) ctx.report(["templates", name, "image"], problem);
  }
}

function checkTemplateNetvms(ctx: Context): void {
  for (const name of ctx.templateNames) {
    const netvm = ctx.templates[name].netvm;
    if (netvm !== undefined && netvm !== null) {
      const problem = netvmProblem(ctx, netvm);
      if (problem !== undefined) ctx.report(["templates", name, "netvm"], problem);
    }
  }
}

/**
 * Resolves every qube's netvm and checks each qube's own keys, qube by qube. Disposable
 * templates are AppVMs, so they are resolved before their DispVMs.
 */
function checkQubes(ctx: Context, defaultNetvmOk: boolean): NetvmGraph {
  const graph: NetvmGraph = { netvmOf: new Map(), netvmValid: new Map() };
  const isDispvm = (n: string) => ctx.qubes[n].class === "DispVM";
  const dispvmsLast = [...ctx.qubeNames.filter((n) => !isDispvm(n)), ...ctx.qubeNames.filter(isDispvm)];
  for (const name of dispvmsLast) {
    resolveNetvm(ctx, graph, name, defaultNetvmOk);
    checkClassKeys(ctx, name);
    checkFirewall(ctx, name, graph.netvmOf.get(name) ?? null);
    checkProviderCloudInit(ctx, name);
    checkMemory(ctx, name);
    checkTemplateReference(ctx, name);
    checkKernelopts(ctx, name);
  }
  return graph;
}

/** A qube's netvm: explicit, else a DispVM's template's, else its class default, else defaults.netvm. */
function resolveNetvm(ctx: Context, graph: NetvmGraph, name: string, defaultNetvmOk: boolean): void {
  const q = ctx.qubes[name];
  const explicit = q.netvm !== undefined;
  const dvm = explicit ? undefined : dvmOf(ctx, q);
  if (dvm !== undefined) {
    // Its template's netvm was checked (and reported) where the template is declared.
    graph.netvmOf.set(name, graph.netvmOf.get(q.template as string) ?? null);
    graph.netvmValid.set(name, graph.netvmValid.get(q.template as string) ?? true);
    return;
  }
  const netvm = explicit ? (q.netvm ?? null) : classDefaultNetvm(q.class, ctx.defaults.netvm);
  graph.netvmOf.set(name, netvm);
  let valid = true;
  if (netvm !== null && (explicit || defaultNetvmOk)) {
    const problem = netvmProblem(ctx, netvm);
    if (problem !== undefined) {
      ctx.report(["qubes", name, "netvm"], problem);
      valid = false;
    }
  }
  graph.netvmValid.set(name, valid && (explicit || defaultNetvmOk));
}

/** Keys that apply only to some classes. */
function checkClassKeys(ctx: Context, name: string): void {
  const q = ctx.qubes[name];
  const path = (key: string): PathSegment[] => ["qubes", name, key];
  if (q.uplink !== undefined && q.class !== "NetVM") {
    ctx.report(path("uplink"), `uplink applies only to a NetVM, not ${article(q.class)} ${q.class}; remove it or make this qube class: NetVM`);
  }
  if (q.uplink === undefined && q.class === "NetVM") {
    ctx.report(path("uplink"), "a NetVM needs an uplink: add uplink: with one of pci, macvtap, bridge, network");
  }
  if (q.provides_network !== undefined && q.class !== "AppVM" && q.class !== "StandaloneVM" && q.class !== "DispVM") {
    const why = q.class === "UsbVM" ? "a UsbVM has no network" : `${article(q.class)} ${q.class} provides network by its class`;
    ctx.report(path("provides_network"), `provides_network applies to an AppVM, StandaloneVM or DispVM; ${why}: remove it`);
  }
  if (q.template_for_dispvms !== undefined && q.class !== "AppVM") {
    ctx.report(path("template_for_dispvms"), `template_for_dispvms applies only to an AppVM, not ${article(q.class)} ${q.class}; remove it`);
  }
  if (q.private !== undefined && q.class === "DispVM") {
    ctx.report(path("private"), "a DispVM keeps nothing across shutdown, so it has no private volume; remove private");
  }
}

function checkFirewall(ctx: Context, name: string, netvm: string | null): void {
  const firewall = ctx.qubes[name].firewall;
  if (firewall === undefined) return;
  if (netvm === null) {
    ctx.report(["qubes", name, "firewall"], "firewall applies only to a qube with a netvm; this one is offline: remove firewall or set netvm");
  }
  const runs = actionRuns(firewall);
  if (runs > MAX_ACTION_RUNS) {
    ctx.report(
      ["qubes", name, "firewall"],
      `the rules switch between accept and drop ${runs - 1} times; libvirt's filter priorities ` +
        `(-1000..1000) hold at most ${MAX_ACTION_RUNS} runs of rules with the same action: group accept rules together`,
    );
  }
}

/** On a network provider only bulkhead runs commands and writes files as root. */
function checkProviderCloudInit(ctx: Context, name: string): void {
  const q = ctx.qubes[name];
  if (q.cloud_init === undefined || !isProvider(roleOf(q))) return;
  for (const key of ROOT_KEYS) {
    if (q.cloud_init[key] !== undefined) {
      ctx.report(
        ["qubes", name, "cloud_init", key],
        `a ${q.class} provides network: only bulkhead runs commands and writes files as root there, so nothing can ` +
          `switch its ruleset off; remove ${key} (users and ssh_authorized_keys are fine)`,
      );
    }
  }
}

/** The cloud-init keys that act as root (users and ssh_authorized_keys do not). */
const ROOT_KEYS = ["packages", "write_files", "runcmd"] as const;

function checkMemory(ctx: Context, name: string): void {
  const q = ctx.qubes[name];
  const memory = inherited(ctx, q, "memory") ?? ctx.defaults.memory ?? QUBE_DEFAULTS.memory;
  const maxmem = inherited(ctx, q, "maxmem");
  // maxmem 0: no memory balancing (Qubes' spelling), so no lower bound applies.
  if (maxmem !== undefined && maxmem !== 0 && maxmem < memory) {
    ctx.report(["qubes", name, q.maxmem === undefined ? "memory" : "maxmem"], `maxmem ${maxmem} is below memory ${memory}; raise maxmem or lower memory`);
  }
}

function checkTemplateReference(ctx: Context, name: string): void {
  const q = ctx.qubes[name];
  const path: PathSegment[] = ["qubes", name, "template"];
  if (q.class === "DispVM") {
    const candidates = ctx.dvmNames.length > 0 ? ctx.dvmNames : ctx.qubeNames;
    const problem = dispvmTemplateProblem(q, ctx.qubes, ctx.isTemplate, candidates, ctx.didYouMean);
    if (problem !== undefined) ctx.report(path, problem);
  } else if (q.template !== undefined) {
    const problem = templateProblem(ctx, q.template);
    if (problem !== undefined) ctx.report(path, problem);
  } else if (ctx.defaults.template === undefined) {
    ctx.report(path, "no template: set template: here or template: under defaults");
  }
}

function checkKernelopts(ctx: Context, name: string): void {
  const q = ctx.qubes[name];
  if (q.kernelopts === undefined) return;
  const root = q.class === "DispVM" ? dvmOf(ctx, q)?.template ?? ctx.defaults.template : q.template ?? ctx.defaults.template;
  if (root !== undefined && ctx.isTemplate(root) && ctx.templates[root].boot === undefined) {
    ctx.report(
      ["qubes", name, "kernelopts"],
      `template "${root}" has no boot: (the qube boots the kernel inside its image), so nothing would read kernelopts; ` +
        "remove kernelopts or give the template boot: { kernel, initrd, cmdline }",
    );
  }
}

/** What a template's cloud-init does as root stays in its image, which its providers boot. */
function checkTemplateCloudInit(ctx: Context): void {
  const providersOf = new Map<string, string[]>();
  for (const name of ctx.providerNames) {
    const root = rootTemplateName(ctx, name);
    if (root === undefined) continue;
    // Appended in place: a copy per provider was quadratic on a long ProxyVM chain.
    const list = providersOf.get(root);
    if (list === undefined) providersOf.set(root, [name]);
    else list.push(name);
  }
  for (const tname of ctx.templateNames) {
    const ci = ctx.templates[tname].cloud_init;
    if (ci === undefined) continue;
    const providers = [...(providersOf.get(tname) ?? [])].sort(compareNames);
    if (providers.length === 0) continue;
    for (const key of ROOT_KEYS) {
      if (ci[key] !== undefined) {
        ctx.report(
          ["templates", tname, "cloud_init", key],
          `${providers.join(", ")} (network providers) boot from this template, and what it installs or runs as root stays in its image; ` +
            `remove ${key}, or give the providers a template of their own (as Qubes does with a minimal template for sys-net and sys-firewall)`,
        );
      }
    }
  }
}

function checkNetvmCycles(ctx: Context, graph: NetvmGraph): void {
  for (const cycle of netvmCycles(graph.netvmOf, graph.netvmValid)) {
    const first = cycle[0];
    // A hostile loop can be thousands long; the message stays one readable line.
    const shown = cycle.length > 8 ? [...cycle.slice(0, 8), `… (${cycle.length} qubes)`] : cycle;
    const loop = `netvm loop: ${[...shown, first].join(" -> ")}`;
    if (cycle.length === 1) {
      const fromDefaults = ctx.qubes[first].netvm === undefined ? " (from defaults.netvm)" : "";
      ctx.report(["qubes", first, "netvm"], `${loop}${fromDefaults}; a qube cannot be its own netvm: set netvm: to the qube it gets network from`);
    } else {
      ctx.report(["qubes", first, "netvm"], `${loop}; give one of them a netvm outside the loop (every chain ends at a NetVM)`);
    }
  }
}

// ---- Lookups the checks share. ----

/** Message for a netvm reference that is not a provider, or undefined when fine. */
function netvmProblem(ctx: Context, target: string): string | undefined {
  if (ctx.isTemplate(target)) return `"${target}" is a template, not a qube; netvm names a NetVM, a ProxyVM or a qube with provides_network: true`;
  if (!ctx.isQube(target)) return `"${target}" is not a qube${ctx.didYouMean(target, ctx.providerNames)}`;
  const t = ctx.qubes[target];
  return isProvider(roleOf(t))
    ? undefined
    : `"${target}" is ${article(t.class)} ${t.class} and does not provide network; use a NetVM or ProxyVM, or set provides_network: true on it`;
}

function templateProblem(ctx: Context, target: string): string | undefined {
  if (ctx.isTemplate(target)) return undefined;
  const where = ctx.isQube(target) ? `"${target}" is a qube, not a template` : `"${target}" is not a template`;
  return `${where}${ctx.didYouMean(target, ctx.templateNames)}`;
}

/** The TemplateVM a qube boots (a DispVM through its AppVM), if the layout names one. */
function rootTemplateName(ctx: Context, name: string): string | undefined {
  const q = ctx.qubes[name];
  const t = q.template ?? ctx.defaults.template;
  if (t === undefined) return undefined;
  if (q.class !== "DispVM") return t;
  return ctx.isQube(t) ? (ctx.qubes[t].template ?? ctx.defaults.template) : undefined;
}

/** A DispVM's disposable template, when it names a usable one (else its template error is reported). */
function dvmOf(ctx: Context, q: RawQube): RawQube | undefined {
  if (q.class !== "DispVM" || q.template === undefined || !ctx.isQube(q.template)) return undefined;
  const t = ctx.qubes[q.template];
  return t.class === "AppVM" && t.template_for_dispvms === true ? t : undefined;
}

/** A qube's own setting, else (a DispVM) its disposable template's, as Qubes copies them. */
function inherited<K extends "label" | "memory" | "maxmem" | "vcpus" | "firewall">(ctx: Context, q: RawQube, key: K): RawQube[K] {
  return q[key] !== undefined ? q[key] : dvmOf(ctx, q)?.[key];
}

// ---- Building: only a layout without issues gets here. ----

function buildLayout(ctx: Context, graph: NetvmGraph, source: string, now: number): ResolveResult {
  const host = buildHost(ctx);
  const templates = [...ctx.templateNames].sort(compareNames).map((name) => buildTemplate(name, ctx.templates[name]));
  const plan = planAddresses(ctx, graph, host.prefix, templates);
  if (plan.problems.length > 0) {
    return { ok: false, issues: plan.problems.map((p) => ({ path: ["qubes", p.qube], message: p.message })) };
  }
  for (const t of templates) {
    const addressing = plan.addressing.get(t.name);
    if (addressing !== undefined) t.addressing = addressing;
  }
  const qubes = ctx.qubeNames.map((name) => buildQube(ctx, name, graph.netvmOf.get(name) ?? null, plan, now));
  return { ok: true, layout: { source, host, templates, qubes: orderQubes(qubes) } };
}

function buildHost(ctx: Context): ResolvedHost {
  const h = ctx.raw.host;
  return {
    uri: h?.uri ?? HOST_DEFAULTS.uri,
    domainType: h?.domainType ?? HOST_DEFAULTS.domainType,
    pool: h?.pool ?? HOST_DEFAULTS.pool,
    poolPath: h?.poolPath ?? HOST_DEFAULTS.poolPath,
    prefix: h?.prefix ?? HOST_DEFAULTS.prefix,
    images: ctx.imageDirs,
    ...(h?.memory === undefined ? {} : { memory: h.memory }),
  };
}

function buildTemplate(name: string, t: RawTemplate): ResolvedTemplate {
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
}

function planAddresses(ctx: Context, graph: NetvmGraph, prefix: string, templates: ResolvedTemplate[]): AddressPlan {
  return assignAddresses(prefix, [
    ...ctx.qubeNames.map((name) => {
      const q = ctx.qubes[name];
      return { name, ...roleOf(q), netvm: graph.netvmOf.get(name) ?? null, uplink: q.class === "NetVM" && q.uplink !== undefined && q.uplink?.pci === undefined };
    }),
    // A template with a netvm (a policy violation) gets a real port, so only template-offline fires.
    ...templates.filter((t) => t.netvm !== null).map((t) => ({ name: t.name, class: "TemplateVM" as const, netvm: t.netvm })),
  ]);
}

function buildQube(ctx: Context, name: string, netvm: string | null, plan: AddressPlan, now: number): ResolvedQube {
  const { qubes, defaults } = ctx;
  const q = qubes[name];
  const template = q.template ?? (defaults.template as string);
  const rootTemplate = q.class === "DispVM" ? (qubes[template].template ?? (defaults.template as string)) : template;
  const maxmem = inherited(ctx, q, "maxmem");
  const addressing = plan.addressing.get(name);
  const provides = plan.provides.get(name);
  const uplinkMac = plan.uplinkMacs.get(name);
  const cloudInit = mergeCloudInit(ctx.templates[rootTemplate]?.cloud_init, q.cloud_init);
  return {
    name,
    class: q.class,
    template,
    rootTemplate,
    netvm,
    label: inherited(ctx, q, "label") ?? defaults.label ?? QUBE_DEFAULTS.label,
    memory: inherited(ctx, q, "memory") ?? defaults.memory ?? QUBE_DEFAULTS.memory,
    ...(maxmem === undefined ? {} : { maxmem }),
    vcpus: inherited(ctx, q, "vcpus") ?? defaults.vcpus ?? QUBE_DEFAULTS.vcpus,
    autostart: q.autostart ?? (q.class === "NetVM" || q.class === "ProxyVM" || q.class === "UsbVM"),
    ...(q.class === "DispVM" ? {} : { privateBytes: q.private ?? QUBE_DEFAULTS.privateBytes }),
    ...(q.discard_data === true ? { discardData: true as const } : {}),
    ...(q.renamed_from === undefined ? {} : { renamedFrom: namesOf(q.renamed_from) }),
    ...(q.class === "DispVM" && qubes[template]?.renamed_from !== undefined ? { templateStorage: namesOf(qubes[template].renamed_from)[0] } : {}),
    templateForDispvms: q.template_for_dispvms ?? false,
    ...(q.provides_network === true ? { providesNetwork: true as const } : {}),
    firewall: netvm === null ? [] : resolveFirewall(inherited(ctx, q, "firewall"), now),
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

/** Qubes' rule list minus expired rules (expire <= now); `+N` becomes now + N. */
export function resolveFirewall(rules: RawFirewallRule[] | undefined, now: number): FirewallRule[] {
  if (rules === undefined) return [{ action: "accept" }];
  const out: FirewallRule[] = [];
  for (const rule of rules) {
    const expire = rule.expire === undefined ? undefined : "at" in rule.expire ? rule.expire.at : now + rule.expire.after;
    if (expire !== undefined && expire <= now) continue;
    const r: FirewallRule = { action: rule.action };
    if (rule.dsthost !== undefined) r.dsthost = rule.dsthost;
    if (rule.proto !== undefined) r.proto = rule.proto;
    if (rule.dstports !== undefined) r.dstports = { ...rule.dstports };
    if (rule.icmptype !== undefined) r.icmptype = rule.icmptype;
    if (rule.specialtarget !== undefined) r.specialtarget = rule.specialtarget;
    if (expire !== undefined) r.expire = expire;
    if (rule.comment !== undefined) r.comment = rule.comment;
    out.push(r);
  }
  return out;
}

/** How many runs of same-action rules a list has (each run takes one filter priority). */
export function actionRuns(rules: readonly { action: string }[]): number {
  return rules.reduce((runs, rule, i) => (i === 0 || rules[i - 1].action !== rule.action ? runs + 1 : runs), 0);
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
