// root-from-template: Qubes' storage model (qubes.md "Qube classes and storage"):
// an AppVM's root is a copy-on-write view of its template's root, discarded at
// shutdown; only the template writes its image; private volumes are per qube.
import { isKnown, type DiskModel, type DomainModel, type HostModel, type VolumeModel } from "../model";
import { finding, type Finding, type Rule } from "../rule";
import { findQube, sortedDomains } from "../topology";

const NAME = "root-from-template";

/** The disk with serial `root`, else the first hard disk. */
export function rootDisk(d: DomainModel): DiskModel | undefined {
  const disks = d.disks.filter((k) => k.device === "disk");
  return disks.find((k) => k.serial === "root") ?? disks[0];
}

const writable = (k: DiskModel): boolean => k.device === "disk" && !k.transient && !k.readonly && isKnown(k.file);
const disk = (k: DiskModel): string => `disk ${k.target} (${k.file})`;

/** The TemplateVM at the end of the metadata's template chain (a DispVM names its dvm AppVM). */
function templateOf(model: HostModel, d: DomainModel): DomainModel | undefined {
  let t = d.template === undefined ? undefined : findQube(model, d.template, d.layout);
  for (let hops = 0; t !== undefined && t.class !== "TemplateVM" && hops < 8; hops++) {
    t = t.template === undefined ? undefined : findQube(model, t.template, t.layout);
  }
  return t?.class === "TemplateVM" ? t : undefined;
}

export function check(model: HostModel): Finding[] {
  const domains = sortedDomains(model);
  const templateImage = new Map<string, DomainModel>();
  for (const t of domains.filter((d) => d.class === "TemplateVM")) {
    for (const k of t.disks.filter(writable)) templateImage.set(k.file, t);
  }
  // A DispVM's writable disk is disposable-stateless's finding (one cause, one finding).
  const writers = new Map<string, DomainModel[]>();
  for (const d of domains.filter((x) => x.class !== "DispVM")) {
    for (const k of d.disks.filter(writable)) {
      const list = writers.get(k.file);
      if (list === undefined) writers.set(k.file, [d]);
      else list.push(d);
    }
  }
  const out: Finding[] = [];
  out.push(...templateSources(model, domains));
  for (const d of domains) {
    const say = (text: string) => out.push(finding(NAME, d.qube, text));
    const root = rootDisk(d);
    const viewsTemplate = d.class !== "TemplateVM" && d.class !== "StandaloneVM";
    if (viewsTemplate && root !== undefined && isKnown(root.file)) {
      const template = templateOf(model, d);
      const expected = template === undefined ? undefined : rootDisk(template)?.file;
      const owner = templateImage.get(root.file);
      if (owner === undefined) {
        const fix = template === undefined || expected === undefined ? "its template's root volume" : `template "${template.qube}"'s image (${expected})`;
        say(`root ${disk(root)} is not a template's image; boot it from ${fix} as a transient disk`);
      } else if (template !== undefined && owner !== template) {
        say(`root ${disk(root)} is the image of template "${owner.qube}", but its template is "${template.qube}"; boot "${template.qube}"'s image`);
      }
      if (!root.transient) {
        say(`root ${disk(root)} persists across shutdown; make it transient (shareBacking) so changes are discarded`);
      }
    }
    for (const k of d.disks.filter(writable)) {
      if (viewsTemplate && k === root) continue; // reported above
      const owner = templateImage.get(k.file);
      if (owner !== undefined && owner !== d) {
        say(`${disk(k)} writes the image of template "${owner.qube}"; only the template writes its image: make the disk transient`);
      } else if (owner === undefined) {
        // One shared volume, one finding: filed under its first writer by name (so linear).
        const all = writers.get(k.file) ?? [];
        if (all.length > 1 && all[0] === d) {
          const others = all.filter((o) => o !== d);
          say(`${disk(k)} is also written by ${others.map((o) => `"${o.qube}"`).join(", ")}; a private volume belongs to one qube: give each its own`);
        }
      }
    }
    for (const k of d.disks.filter((x) => x.transient && isKnown(x.file))) {
      if (templateImage.has(k.file)) continue;
      // A DispVM may view its dvm template's private volume; nobody else sees another qube's private.
      const owners = (writers.get(k.file) ?? []).filter((o) => o !== d);
      for (const o of owners) {
        const own = d.class === "DispVM" && d.template !== undefined && findQube(model, d.template, d.layout) === o;
        if (!own) say(`${disk(k)} is a view of "${o.qube}"'s private volume; a private volume belongs to one qube: remove the disk`);
      }
    }
  }
  return out;
}

/**
 * A template's image is imported from its volume's source; a source that is another volume
 * (a qube's private volume, another template's root) or any file in a storage pool would hand
 * one qube's data to every qube booting the template.
 */
function templateSources(model: HostModel, domains: DomainModel[]): Finding[] {
  const byPath = new Map<string, VolumeModel>();
  for (const v of model.volumes) if (isKnown(v.path)) byPath.set(v.path, v);
  const dirs = model.poolDirs ?? [];
  const out: Finding[] = [];
  for (const t of domains) {
    if (t.class !== "TemplateVM") continue;
    const root = rootDisk(t);
    const volume = root === undefined ? undefined : byPath.get(root.file);
    const source = volume?.source;
    if (volume === undefined || !isKnown(source) || source.startsWith("https://")) continue;
    const other = byPath.get(source);
    const pool = dirs.find((dir) => source.startsWith(`${dir}/`));
    if (other !== undefined) {
      out.push(finding(NAME, t.qube, `its image is imported from ${source}, which is the volume "${other.name}" of pool "${other.pool}"; import the template from an image under host.images, never from a qube's volume`));
    } else if (pool !== undefined) {
      out.push(finding(NAME, t.qube, `its image is imported from ${source}, inside the storage pool directory ${pool} (qubes' volumes); import the template from an image under host.images`));
    }
  }
  return out;
}

export const rule: Rule = {
  name: NAME,
  description:
    "A qube's root disk is a discard-on-shutdown view of its template's image; only the template writes its " +
    "image; a private volume belongs to one qube. Protects against malware persisting in a root filesystem, " +
    "one qube corrupting the template every other qube boots, and qubes reading each other's data (a template " +
    "imported from another qube's volume or from a storage pool included). Qubes: AppVM root is a copy-on-write view of the template's root, discarded at shutdown; /rw is per qube " +
    "(user/templates/templates).",
  enforcementLevel: "mandatory",
  severity: "high",
  tags: ["qubes", "storage", "template"],
  remediationSteps:
    "Boot the qube's root as a transient (discard-on-shutdown) view of its template's image; let only the template write that image; give each qube its own private volume.",
  scope: "stack",
  check,
};
