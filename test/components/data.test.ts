// A qube's data across layout changes, as the components declare it: private
// volumes (and a StandaloneVM's root) carry `preserve` unless the qube opts in
// with `discard_data`; after a rename they keep the name they were made with,
// and every disk that uses them (a DispVM's view of its template's) follows.
import { describe, expect, it } from "vitest";
import { compileResources } from "../../components/compile";
import { parseLayout } from "../../layout/load";
import { layoutIssues } from "../layout/helpers";

const yaml = (qubes: string) => `version: 1
host: { prefix: "p-", poolPath: /srv/p }
defaults: { template: t, netvm: null }
templates:
  t: { image: /var/lib/libvirt/images/t.qcow2 }
qubes:
${qubes}`;

function volumes(text: string): Record<string, unknown>[] {
  return compileResources(parseLayout(text, "l.yaml"))
    .filter((r) => r.type === "bulkhead:libvirt:Volume" && !String(r.inputs["name"]).endsWith("-seed.iso"))
    .map((r) => ({ resource: r.name, name: r.inputs["name"], preserve: r.inputs["preserve"] }));
}

function disks(text: string, qube: string): string[] {
  const d = compileResources(parseLayout(text, "l.yaml")).find((r) => r.name === `bulkhead-${qube}-domain`)!;
  return (d.inputs["devices"] as { disks: { source: { file: string } }[] }).disks.map((x) => x.source.file);
}

describe("a qube's data in the declared resources", () => {
  it("private volumes and a StandaloneVM's root are preserved unless the qube sets discard_data", () => {
    expect(
      volumes(
        yaml(`  a: { class: AppVM }
  b: { class: AppVM, discard_data: true }
  s: { class: StandaloneVM }
  d: { class: StandaloneVM, discard_data: false }`),
      ),
    ).toEqual([
      { resource: "bulkhead-a-private", name: "p-a-private.qcow2", preserve: true },
      { resource: "bulkhead-b-private", name: "p-b-private.qcow2", preserve: undefined },
      { resource: "bulkhead-d-private", name: "p-d-private.qcow2", preserve: true },
      { resource: "bulkhead-d-root", name: "p-d-root.qcow2", preserve: true },
      { resource: "bulkhead-s-private", name: "p-s-private.qcow2", preserve: true },
      { resource: "bulkhead-s-root", name: "p-s-root.qcow2", preserve: true },
      { resource: "bulkhead-t-root", name: "p-t-root.qcow2", preserve: undefined },
    ]);
  });

  it("a renamed qube keeps the volume names it was made with (the oldest name), and its DispVMs' disks follow", () => {
    const text = yaml(`  mail: { class: AppVM, renamed_from: [post, letters], template_for_dispvms: true }
  disp: { class: DispVM, template: mail }
  s2: { class: StandaloneVM, renamed_from: s1 }`);
    expect(volumes(text)).toEqual([
      { resource: "bulkhead-mail-private", name: "p-post-private.qcow2", preserve: true },
      { resource: "bulkhead-s2-private", name: "p-s1-private.qcow2", preserve: true },
      { resource: "bulkhead-s2-root", name: "p-s1-root.qcow2", preserve: true },
      { resource: "bulkhead-t-root", name: "p-t-root.qcow2", preserve: undefined },
    ]);
    expect(disks(text, "mail")).toEqual(["/srv/p/p-t-root.qcow2", "/srv/p/p-post-private.qcow2", "/srv/p/p-mail-seed.iso"]);
    expect(disks(text, "disp")).toEqual(["/srv/p/p-t-root.qcow2", "/srv/p/p-post-private.qcow2", "/srv/p/p-disp-seed.iso"]);
    expect(disks(text, "s2")).toEqual(["/srv/p/p-s1-root.qcow2", "/srv/p/p-s1-private.qcow2", "/srv/p/p-s2-seed.iso"]);
  });

  it("renamed_from must name a free name, claimed once; discard_data is not for a DispVM", () => {
    const issues = layoutIssues(() =>
      parseLayout(
        yaml(`  a: { class: AppVM, renamed_from: b, template_for_dispvms: true }
  b: { class: AppVM, renamed_from: b }
  c: { class: AppVM, renamed_from: [x, t] }
  e: { class: AppVM, renamed_from: x }
  f: { class: DispVM, template: a, discard_data: true }`),
        "l.yaml",
      ),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'qubes.a.renamed_from: "b" is still in the layout; a qube can take over the objects of a name no other qube or template uses',
      'qubes.b.renamed_from: "b" is this qube\'s own name; remove it from renamed_from',
      'qubes.c.renamed_from.1: "t" is still in the layout; a qube can take over the objects of a name no other qube or template uses',
      'qubes.e.renamed_from: "x" is already claimed by qube "c"; only one qube can be renamed from it',
      "qubes.f.discard_data: a DispVM keeps no data; remove discard_data",
    ]);
  });
});
