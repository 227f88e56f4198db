// The Pulumi components register exactly the nodes compileLayout returns
// (their generic instantiation, run under the mocks by simulateLayout, records
// what compileResources says, which bulkhead check, plan and the bench rely
// on), for every layout the repository holds and for generated ones; and the
// compile step must not load the Pulumi SDK, the point of having it.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { compileLayout, compileResources, SIM_LAYOUT, SIM_PROJECT, SIM_STACK } from "../../components/compile";
import { Layout } from "../../components/layout";
import { simulateLayout, simulateProgram } from "../../components/simulate";
import { LayoutError } from "../../layout/errors";
import { loadLayout, parseLayout } from "../../layout/load";
import type { ResolvedLayout } from "../../layout/model";
import { generateLayout, layoutToYaml, MIN_QUBES } from "../../scripts/gen-layout";
import { example, work } from "./fixtures";

const root = join(__dirname, "..", "..");
/** Fixed, so that firewall `expire` resolves the same way in both runs. */
const NOW = 1_700_000_000;

/** Every layout file in the repository that loads (Pulumi stack settings and invalid fixtures are not layouts). */
function repositoryLayouts(): [string, ResolvedLayout][] {
  const dirs = ["stacks", "examples", "test/fixtures/valid", "test/fixtures/violations"];
  const out: [string, ResolvedLayout][] = [];
  for (const dir of dirs.filter((d) => existsSync(join(root, d)))) {
    for (const file of readdirSync(join(root, dir)).sort()) {
      if (!file.endsWith(".yaml") || file.startsWith("Pulumi.")) continue;
      try {
        out.push([`${dir}/${file}`, loadLayout(join(root, dir, file), { now: NOW })]);
      } catch (error) {
        if (!(error instanceof LayoutError)) throw error;
      }
    }
  }
  return out;
}

const repository = repositoryLayouts();

function generated(n: number, lab: boolean): ResolvedLayout {
  return parseLayout(layoutToYaml(generateLayout(n, { lab }), "test"), `gen-${n}${lab ? "-lab" : ""}.yaml`, { now: NOW });
}

describe("the components register exactly compile's nodes", () => {
  test("the repository holds layouts of every kind checked here", () => {
    const names = repository.map(([name]) => name);
    expect(names).toContain("stacks/dev.yaml");
    expect(names).toContain("test/fixtures/valid/every-key.yaml");
    expect(names.filter((n) => n.startsWith("test/fixtures/violations/")).length).toBeGreaterThan(10);
  });

  test.each(repository)("%s", async (_, layout) => {
    expect(compileResources(layout)).toStrictEqual(await simulateLayout(layout));
  });

  test.each(repository.slice(0, 3))("%s with a uri override", async (_, layout) => {
    const opts = { uri: "qemu+ssh://root@lab1/system" };
    expect(compileResources(layout, opts)).toStrictEqual(await simulateLayout(layout, opts));
  });

  test("the hand-built example (every class, a StandaloneVM)", async () => {
    expect(compileResources(example)).toStrictEqual(await simulateLayout(example));
  });

  test.each([
    [MIN_QUBES, false],
    [50, false],
    [200, false],
    [MIN_QUBES, true],
    [200, true],
  ])("generated: %i qubes (lab: %s)", async (n, lab) => {
    const layout = generated(n, lab);
    const simulated = await simulateLayout(layout);
    const planned = compileResources(layout);
    expect(planned).toStrictEqual(simulated);
    // Same key order too, so anything printing the records prints the same bytes.
    expect(JSON.stringify(planned)).toBe(JSON.stringify(simulated));
  });

  test("generated, with a uri override", async () => {
    const layout = generated(20, true);
    const opts = { uri: "qemu+ssh://root@lab1/system" };
    expect(compileResources(layout, opts)).toStrictEqual(await simulateLayout(layout, opts));
  });

  test("throws what simulateLayout rejects with for a layout the components cannot wire", async () => {
    const broken: ResolvedLayout = { ...example, qubes: [{ ...work, netvm: "sys-net" }] };
    const message = "qubes.work.netvm: sys-net is not a qube declared before it that provides network";
    await expect(simulateLayout(broken)).rejects.toThrow(message);
    expect(() => compileResources(broken)).toThrow(message);
  });
});

/** Per registration, by name: the options the records leave out (retainOnDelete, aliases). */
async function registeredOptions(layout: ResolvedLayout): Promise<Record<string, { retainOnDelete: boolean; aliases: number }>> {
  const seen: Record<string, { retainOnDelete: boolean; aliases: number }> = {};
  await simulateProgram(() => {
    // Wraps the mock monitor simulateProgram installed (and wrapped) for this run.
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, cb: unknown): void };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      seen[req.getName()] = { retainOnDelete: req.getRetainondelete(), aliases: req.getAliasesList().length };
      register(req, cb);
    };
    return { qubes: new Layout(SIM_LAYOUT, { layout }).qubes };
  }, layout.host);
  return seen;
}
interface RegisterRequest {
  getName(): string;
  getRetainondelete(): boolean;
  getAliasesList(): unknown[];
}

describe("the components register compile's options", () => {
  test("retainOnDelete on data volumes, aliases on renamed qubes, for every node", async () => {
    const layout = repository.find(([name]) => name === "test/fixtures/valid/every-key.yaml")![1];
    const nodes = compileLayout(layout);
    const expected = Object.fromEntries(nodes.map((n) => [n.name, { retainOnDelete: n.retainOnDelete ?? false, aliases: n.aliases?.length ?? 0 }]));
    const registered = await registeredOptions(layout);
    delete registered[`${SIM_PROJECT}-${SIM_STACK}`];
    expect(registered).toStrictEqual(expected);
    // The fixture has what is checked: kept data, discarded data, two renames.
    expect(expected["bulkhead-dvm-private"]).toStrictEqual({ retainOnDelete: true, aliases: 0 });
    expect(expected["bulkhead-standalone-root"]).toStrictEqual({ retainOnDelete: false, aliases: 0 });
    expect(expected["bulkhead-dvm"]).toStrictEqual({ retainOnDelete: false, aliases: 2 });
    expect(expected["bulkhead-standalone"]).toStrictEqual({ retainOnDelete: false, aliases: 1 });
  });
});

describe("compileResources's seed volumes", () => {
  test("throws what rendering a seed throws", () => {
    const broken: ResolvedLayout = { ...example, qubes: example.qubes.map((q) => (q.name === "vault" ? { ...q, name: "va$ult" } : q)) };
    expect(() => compileResources(broken)).toThrow('bulkhead.env: unsafe value for QUBE: "va$ult"');
  });
});

/** Modules under node_modules/@pulumi that a script run with the built tree loaded. */
function pulumiModulesLoaded(script: string): string[] {
  const probe = `${script}.then(() => { process.stderr.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes("/node_modules/@pulumi/")))); })`;
  const run = spawnSync(process.execPath, ["-e", probe], { cwd: root, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  if (run.error !== undefined) throw run.error;
  return JSON.parse(run.stderr) as string[];
}

describe("no Pulumi SDK on the offline path", () => {
  test("dist/components/compile.js loads neither @pulumi/pulumi nor @pulumi/policy", () => {
    const script = `Promise.resolve(require("./dist/components/compile.js").compileResources(require("./dist/layout/load.js").loadLayout("stacks/dev.yaml")))`;
    expect(pulumiModulesLoaded(script)).toEqual([]);
  });

  test("bulkhead check of a valid layout (policies included) loads no Pulumi module", () => {
    // stdout (the report) is ignored; stderr carries the probe's answer.
    const script = `require("./dist/cli/main.js").main(["node", "bulkhead", "check", "stacks/dev.yaml", "--json"])`;
    expect(pulumiModulesLoaded(script)).toEqual([]);
  });
});
