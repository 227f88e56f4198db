// `bulkhead audit` against the lab's real libvirtd: a small layout's objects are
// created through the provider's handlers (no engine, nothing boots), the audit
// finds nothing, then hand edits made with virsh are each reported.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { AuditReport } from "../../cli/audit";
import { simulateLayout, type SimulatedResource } from "../../components/simulate";
import { parseExpireTag } from "../../libvirt/expire";
import { parseDomainXml, renderDomainXml } from "../../libvirt/xml/domain";
import { parseNwFilterXml } from "../../libvirt/xml/nwfilter";
import { parseLayout } from "../../layout/load";
import { BulkheadProvider } from "../../provider/provider";
import { virsh, withTempFile } from "../../libvirt/virsh";
import { cleanupPrefix, labUri, testPrefix, urn } from "../helpers/libvirt";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const prefix = testPrefix("audit");
const provider = new BulkheadProvider();
let uri = "";
let work = "";

function layoutYaml(poolPath: string, image: string): string {
  // JSON strings are valid YAML scalars, so temp paths need no escaping of their own.
  return `version: 1
host:
  uri: ${JSON.stringify(uri)}
  domainType: qemu
  pool: ${JSON.stringify(`${prefix}pool`)}
  poolPath: ${JSON.stringify(poolPath)}
  prefix: ${JSON.stringify(prefix)}
  images: [${JSON.stringify(dirname(image))}]
defaults: { template: tpl, netvm: sys-firewall, memory: 128, vcpus: 1 }
templates:
  tpl: { image: ${JSON.stringify(image)}, format: raw }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { network: ${JSON.stringify(`${prefix}uplink`)} }, autostart: false }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net, autostart: false }
  work:
    class: AppVM
    label: blue
    firewall: [{ action: accept, proto: tcp, dstports: 22, expire: "+3600", comment: ssh for an hour }, { action: accept }]
  personal: { class: AppVM, label: yellow }
  vault: { class: AppVM, label: black, netvm: null }
`;
}

// libvirt kinds in the order a deployment needs them.
const KINDS = ["Pool", "Volume", "Network", "NwFilter", "Domain"].map((k) => `bulkhead:libvirt:${k}`);

/** Creates the resources kind by kind; within a kind, in waves of what their dependencies allow. */
async function deploy(resources: SimulatedResource[]): Promise<void> {
  const done = new Set<string>();
  for (const kind of KINDS) {
    let todo = resources.filter((r) => r.type === kind);
    while (todo.length > 0) {
      const ready = todo.filter((r) => r.dependencies.every((d) => done.has(d) || !resources.some((x) => x.urn === d)));
      if (ready.length === 0) throw new Error(`dependency cycle among ${todo.map((r) => r.name).join(", ")}`);
      await Promise.all(ready.map((r) => provider.create(r.urn, r.inputs)));
      ready.forEach((r) => done.add(r.urn));
      todo = todo.filter((r) => !ready.includes(r));
    }
  }
}

interface Run {
  code: number;
  report: AuditReport;
}

async function audit(...extra: string[]): Promise<Run> {
  const args = [cli, "audit", "--uri", uri, "--json", "--prefix", prefix, ...extra];
  try {
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root });
    return { code: 0, report: JSON.parse(stdout) as AuditReport };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string };
    if (e.code !== 1) throw error;
    return { code: 1, report: JSON.parse(e.stdout ?? "") as AuditReport };
  }
}

const found = (r: AuditReport) => r.violations.map((v) => `${v.level} ${v.policy} ${v.qube}`);

/** A hand edit: the domain's live XML, changed and defined again under the same UUID. */
async function redefine(qube: string, edit: (d: ReturnType<typeof parseDomainXml>) => void): Promise<void> {
  const live = parseDomainXml(await virsh(uri, ["dumpxml", "--inactive", "--domain", `${prefix}${qube}`]));
  edit(live);
  const { uuid, metadata, ...spec } = live;
  if (metadata === undefined) throw new Error(`${qube} lost its metadata`);
  await virsh(uri, ["define"], { xml: renderDomainXml({ ...spec, metadata }, { uuid }) });
}

// A USB device that need not exist: --config only edits the persistent definition.
const USB_HOSTDEV = `<hostdev mode='subsystem' type='usb' managed='no'>
  <source><vendor id='0x046d'/><product id='0xc52b'/></source>
</hostdev>
`;

beforeAll(async () => {
  uri = await labUri();
  work = mkdtempSync(join(tmpdir(), "bulkhead-audit-"));
  const image = join(work, "template.img");
  writeFileSync(image, Buffer.alloc(1024 * 1024));
  await provider.create(urn("Network", `${prefix}uplink`), { uri, name: `${prefix}uplink`, port: { isolated: true }, autostart: false });
  const layout = parseLayout(layoutYaml(join(work, "pool"), image), join(work, "layout.yaml"));
  await deploy((await simulateLayout(layout)).filter((r) => r.custom));
}, 300_000);

afterAll(async () => {
  if (uri !== "") await cleanupPrefix(uri, prefix);
  if (work !== "") rmSync(work, { recursive: true, force: true });
}, 120_000);

describe("bulkhead audit on the lab host", () => {
  test("the deployed layout: no violation, exit 0", async () => {
    const r = await audit();
    expect(r).toEqual({
      code: 0,
      report: {
        uri,
        ok: true,
        violations: [],
        // tpl, sys-net, sys-firewall, work, personal, vault; the uplink and two client networks;
        // three qube filters plus clean-traffic and the ten built-ins it includes (libvirt 9).
        summary: { domains: 6, networks: 3, filters: 14, mandatory: 0, advisory: 0 },
      },
    });
  });

  test("a deployed rule past its expiry (judged an hour and a minute later): firewall-unexpired on it", async () => {
    const filter = parseNwFilterXml(await virsh(uri, ["nwfilter-dumpxml", "--nwfilter", `${prefix}work-fw`]));
    const expire = parseExpireTag(filter.rules[0]?.match?.comment);
    expect(filter.rules[0]?.match?.comment).toMatch(/^\[expire \d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] ssh for an hour$/);
    const later = join(work, "later.json");
    writeFileSync(later, JSON.stringify({ "firewall-unexpired": { now: (expire ?? 0) + 60 } }));
    const r = await audit("--policy-pack-config", later);
    expect(r.code).toBe(1);
    expect(found(r.report)).toEqual(["mandatory firewall-unexpired work"]);
    expect(r.report.violations[0]?.message).toBe(
      `work: nwfilter "${prefix}work-fw" still holds a rule that expired at ${new Date((expire ?? 0) * 1000).toISOString().replace(".000Z", "Z")} (${expire}); ` +
        "run `npm run up` (or pulumi up) to leave it out, or remove its expire from the layout",
    );
    // The same host judged now: the rule has not expired.
    expect((await audit()).code).toBe(0);
  });

  test("a client's filterref removed by hand: egress-filtered on it", async () => {
    await redefine("work", (d) => {
      d.devices.interfaces = d.devices.interfaces.map(({ filterref: _f, ...i }) => i);
    });
    const r = await audit();
    expect(r.code).toBe(1);
    expect(found(r.report)).toEqual(["mandatory egress-filtered work"]);
    expect(r.report.violations[0]?.message).toBe(
      `work: its interface on "${prefix}sys-firewall-clients" has no nwfilter, so its egress is unfiltered; ` +
        "add a filterref to the qube's firewall filter",
    );
  });

  test("a client's port opened (isolated='no'): client-port-isolation on it", async () => {
    await redefine("personal", (d) => {
      d.devices.interfaces = d.devices.interfaces.map((i) => ({ ...i, port: { isolated: false } }));
    });
    const r = await audit();
    expect(r.code).toBe(1);
    expect(found(r.report)).toEqual(["mandatory client-port-isolation personal", "mandatory egress-filtered work"]);
  });

  test("a USB device attached to an AppVM with virsh attach-device --config: usb-confined on it", async () => {
    await withTempFile("hostdev.xml", USB_HOSTDEV, (file) =>
      virsh(uri, ["attach-device", "--domain", `${prefix}vault`, "--file", file, "--config"]),
    );
    const r = await audit();
    expect(r.code).toBe(1);
    expect(found(r.report)).toEqual([
      "mandatory client-port-isolation personal",
      "mandatory usb-confined vault",
      "mandatory egress-filtered work",
    ]);
    // work's filter is no longer referenced by any interface, so it is not read.
    expect(r.report.summary).toEqual({ domains: 6, networks: 3, filters: 13, mandatory: 3, advisory: 0 });
  });
});
