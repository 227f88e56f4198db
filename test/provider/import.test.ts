// Adopting existing libvirt objects: `pulumi import` of a domain, network, filter
// or volume by name. The provider's read with no state (what the engine sends on
// import) reads the whole live object; its inputs are exactly what a program must
// declare to own it. Objects are made in the lab first (by the provider, as bulkhead
// would make them), then imported through the provider and through the real engine.
import * as fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DomainArgs, NetworkArgs, NwFilterArgs, PoolArgs, VolumeArgs } from "../../libvirt/types";
import { compileResources } from "../../components/compile";
import { loadLayout } from "../../layout/load";
import { parseImportId } from "../../provider/import";
import { BulkheadProvider } from "../../provider/provider";
import { cleanupPrefix, labUri, testPrefix, urn } from "../helpers/libvirt";
import { runCaptured } from "../helpers/spawn";
import { engineEnv, makeProject, skipReason } from "../policies/engine";

describe("import ids", () => {
  it("name, uri#name, pool/volume; the default URI from BULKHEAD_URI", () => {
    expect(parseImportId("bulkhead:libvirt:Domain", "work", {})).toEqual({ uri: "qemu:///system", name: "work" });
    expect(parseImportId("bulkhead:libvirt:Network", "qemu+ssh://root@lab1/system#net", {})).toEqual({ uri: "qemu+ssh://root@lab1/system", name: "net" });
    expect(parseImportId("bulkhead:libvirt:NwFilter", "f", { BULKHEAD_URI: "test:///default" })).toEqual({ uri: "test:///default", name: "f" });
    expect(parseImportId("bulkhead:libvirt:Volume", "pool/v.qcow2", {})).toEqual({ uri: "qemu:///system", pool: "pool", name: "v.qcow2" });
    expect(() => parseImportId("bulkhead:libvirt:Volume", "v.qcow2", {})).toThrow('cannot import "v.qcow2": the id is [<uri>#]<pool>/<volume>');
    expect(() => parseImportId("bulkhead:libvirt:Domain", "qemu:///system#", {})).toThrow("the id is [<uri>#]<name>");
  });
});

const provider = new BulkheadProvider();
const prefix = testPrefix("imp");
let uri = "";
let dir = "";
const made: Record<string, { type: string; name: string; id: string; args: Record<string, unknown> }> = {};

describe("import by name from the lab", () => {
  beforeAll(async () => {
    uri = await labUri();
    dir = await mkdtemp(join(os.tmpdir(), "bhtest-import-"));
    const make = async (kind: string, args: object, id?: string) => {
      const created = await provider.create(urn(kind, (args as { name: string }).name), args);
      made[kind] = { type: `bulkhead:libvirt:${kind}`, name: (args as { name: string }).name, id: id ?? (args as { name: string }).name, args: args as Record<string, unknown> };
      return created;
    };
    const pool: PoolArgs = { uri, name: `${prefix}pool`, type: "dir", target: { path: join(dir, "pool") }, autostart: false };
    await provider.create(urn("Pool", pool.name), pool);
    const network: NetworkArgs = { uri, name: `${prefix}net`, port: { isolated: true }, autostart: false };
    await make("Network", network);
    const filter: NwFilterArgs = {
      uri,
      name: `${prefix}fw`,
      filterrefs: [{ filter: "clean-traffic" }],
      rules: [{ action: "drop", direction: "out", priority: 900, protocol: "all" }],
    };
    await make("NwFilter", filter);
    const volume: VolumeArgs = { uri, pool: pool.name, name: `${prefix}private.qcow2`, capacity: 1024 * 1024, format: "qcow2" };
    await make("Volume", volume, `${pool.name}/${volume.name}`);
    // The work qube of dev.yaml, renamed: a domain as bulkhead defines it (not started).
    const work = compileResources(loadLayout("stacks/dev.yaml")).find((r) => r.type === "bulkhead:libvirt:Domain" && r.inputs.name === "dev-work");
    const domain = { ...(work?.inputs as unknown as DomainArgs), uri, name: `${prefix}work`, running: false, autostart: false };
    domain.devices = { ...domain.devices, interfaces: [] };
    await make("Domain", domain);
  }, 300_000);

  afterAll(async () => {
    if (uri !== "") await cleanupPrefix(uri, prefix);
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  // The whole live definition: what bulkhead declared, plus what libvirt filled in (a
  // network's bridge, a filter's chain, a domain's controllers, arch and boot order).
  it.each([
    ["Network", ["bridge"]],
    ["NwFilter", ["chain"]],
    ["Volume", []],
    ["Domain", ["currentMemory"]],
  ])("%s: a read with no state gives back what bulkhead declared, and libvirt's additions %j", async (kind, added) => {
    const m = made[kind];
    const r = await provider.read(`${uri}#${m.id}`, urn(kind, "adopted"), undefined);
    // The id bulkhead's own objects have: the live UUID (a volume: its path).
    expect(r.id).toBe(kind === "Volume" ? (r.props as { path: string }).path : (r.props as { uuid?: string }).uuid ?? r.id);
    expect(r.id).toMatch(kind === "Volume" ? /^\/.+private\.qcow2$/ : /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(r.inputs).toMatchObject(m.args);
    expect(Object.keys(r.inputs ?? {}).filter((k) => !(k in m.args)).sort()).toEqual(added);
  });

  it("an object that is not there is reported gone (empty id), not made up", async () => {
    expect(await provider.read(`${uri}#${prefix}nothing`, urn("Network", "x"), undefined)).toEqual({ id: "", props: {} });
  });

  const reason = skipReason();
  it.skipIf(reason !== undefined)(`pulumi import through the real engine${reason !== undefined ? ` (skipped: ${reason})` : ""}`, async () => {
    const work = fs.mkdtempSync(join(os.tmpdir(), "bulkhead-import-engine-"));
    try {
      const project = join(work, "project");
      makeProject(project);
      const env = await engineEnv(work);
      const pulumi = (...args: string[]) => runCaptured("pulumi", [...args, "--non-interactive"], project, env);
      expect((await pulumi("stack", "init", "adopt")).code).toBe(0);
      for (const m of Object.values(made)) {
        const r = await pulumi("import", m.type, m.name.replace(/[^A-Za-z0-9-]/g, "-"), `${uri}#${m.id}`, "--yes", "--generate-code=false", "--stack", "adopt");
        expect({ type: m.type, code: r.code, stderr: r.stderr }).toEqual({ type: m.type, code: 0, stderr: "" });
      }
      // The adopted objects are this stack's now: a refresh reads each by its id and finds it.
      const refresh = await pulumi("refresh", "--yes", "--stack", "adopt");
      expect({ code: refresh.code, stderr: refresh.stderr }).toEqual({ code: 0, stderr: "" });
      const exported = await pulumi("stack", "export", "--stack", "adopt");
      const state = JSON.parse(exported.stdout) as { deployment: { resources: { type: string; inputs: Record<string, unknown> }[] } };
      for (const m of Object.values(made)) {
        const r = state.deployment.resources.find((x) => x.type === m.type);
        expect(r?.inputs, m.type).toMatchObject(m.args);
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
