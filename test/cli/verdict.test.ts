// One verdict everywhere: `bulkhead check` takes the engine's --policy-pack-config
// file, runs the provider's own input checks, and the pack reads host.memory from
// the program's resources (the Layout component) as the engine's pack does.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { providerInputIssues } from "../../cli/inputs";
import { compileResources, SIM_LAYOUT } from "../../components/compile";
import { parseLayout } from "../../layout/load";
import { policyPackConfig } from "../../policies/config";
import { evaluate } from "../../policies/evaluate";
import { fromResources } from "../../policies/model";

const root = join(__dirname, "..", "..");
const cli = join(root, "dist", "cli", "main.js");
const dir = mkdtempSync(join(tmpdir(), "bulkhead-verdict-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Two mandatory and two advisory findings, each from another policy (as test/policies/policy-config.test.ts).
const LAYOUT = `version: 1
host: { memory: 700 }
defaults: { template: debian-12, netvm: sys-firewall }
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
qubes:
  sys-net: { class: NetVM, label: red, uplink: { bridge: br0 } }
  sys-firewall: { class: ProxyVM, label: green, netvm: sys-net }
  sys-usb: { class: UsbVM, label: red }
  work: { class: AppVM, label: blue, netvm: sys-net }
  media: { class: AppVM, label: purple, devices: { pci: ["0000:00:14.0"] } }
`;
const DEFAULTS = [
  "mandatory pci-netvm-usbvm-only media",
  "mandatory clients-behind-proxy work",
  "advisory memory-budget dom0",
  "advisory uplink-host-isolated sys-net",
].sort();

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, "check", ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const verdicts = (stdout: string) =>
  (JSON.parse(stdout) as { violations: { level: string; policy: string; qube: string }[] }).violations.map((v) => `${v.level} ${v.policy} ${v.qube}`).sort();

describe("bulkhead check --policy-pack-config (the engine's file format)", () => {
  const layout = file("many.yaml", LAYOUT);

  test("without a file: the pack's default levels, host.memory from the layout", async () => {
    const r = await check("--json", layout);
    expect({ code: r.code, verdicts: verdicts(r.stdout) }).toEqual({ code: 1, verdicts: DEFAULTS });
  });

  test("one policy disabled, an advisory one made mandatory", async () => {
    const config = file("levels.json", JSON.stringify({ "clients-behind-proxy": "disabled", "memory-budget": { enforcementLevel: "mandatory" } }));
    const r = await check("--json", "--policy-pack-config", config, layout);
    expect({ code: r.code, verdicts: verdicts(r.stdout) }).toEqual({
      code: 1,
      verdicts: ["advisory uplink-host-isolated sys-net", "mandatory memory-budget dom0", "mandatory pci-netvm-usbvm-only media"],
    });
  });

  test("`all` sets every level; a policy's own entry overrides it", async () => {
    const config = file("all.json", JSON.stringify({ all: "advisory", "uplink-host-isolated": "disabled" }));
    const r = await check("--json", "--policy-pack-config", config, layout);
    expect({ code: r.code, verdicts: verdicts(r.stdout) }).toEqual({
      code: 0,
      verdicts: ["advisory clients-behind-proxy work", "advisory memory-budget dom0", "advisory pci-netvm-usbvm-only media"],
    });
  });

  test("configuration reaches the policy: a larger budget, usb-confined's controllers", async () => {
    const config = file("cfg.json", JSON.stringify({ "memory-budget": { hostMemoryMiB: 4096 }, "usb-confined": { usbControllers: ["0000:00:14.0"] } }));
    const r = await check("--json", "--policy-pack-config", config, layout);
    expect({ code: r.code, verdicts: verdicts(r.stdout) }).toEqual({
      code: 1,
      verdicts: ["advisory uplink-host-isolated sys-net", "mandatory clients-behind-proxy work", "mandatory pci-netvm-usbvm-only media", "mandatory usb-confined media"],
    });
  });

  test("a config the engine refuses is one line, exit 2", async () => {
    const wrongType = file("bad.json", JSON.stringify({ "usb-confined": { usbControllers: "0000:00:14.0" } }));
    expect(await check("--policy-pack-config", wrongType, layout)).toEqual({
      code: 2,
      stdout: "",
      stderr: `bulkhead check: ${wrongType}: usb-confined: usbControllers must be an array, not "0000:00:14.0"\n`,
    });
    const level = file("level.json", JSON.stringify({ all: "strict" }));
    expect((await check("--policy-pack-config", level, layout)).stderr).toBe(
      `bulkhead check: ${level}: all: enforcementLevel must be one of advisory, mandatory, remediate, disabled, not "strict"\n`,
    );
    expect((await check("--policy-pack-config", join(dir, "missing.json"), layout)).stderr).toBe(
      `bulkhead check: cannot read the policy pack config ${JSON.stringify(join(dir, "missing.json"))}: ENOENT\n`,
    );
  });
});

describe("policyPackConfig", () => {
  test("reads levels and configuration apart, and refuses a policy the pack does not have", () => {
    expect(policyPackConfig({ all: { enforcementLevel: "disabled" }, "memory-budget": { hostMemoryMiB: 10, enforcementLevel: "advisory" } }).config).toEqual({
      "memory-budget": { hostMemoryMiB: 10 },
    });
    expect(policyPackConfig({ all: "disabled" }).levels["egress-filtered"]).toBe("disabled");
    expect(() => policyPackConfig({ "memory-budgets": "disabled" })).toThrow('"memory-budgets" is not a policy of bulkhead-isolation');
  });
});

describe("the pack reads host.memory from the program's own resources", () => {
  test("the Layout component carries it; evaluate needs no option", () => {
    const resources = compileResources(parseLayout(LAYOUT, "many.yaml"));
    expect(resources.find((r) => r.type === "bulkhead:qubes:Layout")?.inputs).toEqual({ hostMemoryMiB: 700 });
    const model = fromResources(resources);
    expect(model.hostMemoryMiB).toBe(700);
    expect(evaluate(model).filter((v) => v.policy === "memory-budget").map((v) => v.qube)).toEqual(["dom0"]);
  });
});

describe("bulkhead check runs the provider's input checks", () => {
  test("an input the provider would refuse is an error of the qube that made it", () => {
    const layout = parseLayout(LAYOUT, "many.yaml");
    const resources = compileResources(layout);
    const fw = resources.find((r) => r.name === `${SIM_LAYOUT}-media-fw`);
    (fw?.inputs.rules as { match?: { comment?: string } }[])[0].match = { comment: "x".repeat(300) };
    expect(providerInputIssues(resources, layout, SIM_LAYOUT)).toEqual([
      { path: "qubes.media", message: 'the provider would refuse NwFilter "media-fw": rules[0].match.comment: Too big: expected string to have <=256 characters' },
    ]);
    expect(providerInputIssues(compileResources(layout), layout, SIM_LAYOUT)).toEqual([]);
  });

  test("an https:// image: refused by check without its sha256, taken by check and the provider's checks with it", async () => {
    const url = "https://example.com/debian-12.qcow2";
    const bare = await check("--json", file("https.yaml", LAYOUT.replace("/var/lib/libvirt/images/debian-12.qcow2", url)));
    expect(bare.code).toBe(2);
    expect((JSON.parse(bare.stdout) as { errors: unknown[] }).errors).toEqual([
      { path: "templates.debian-12.sha256", line: 5, message: "an https:// image needs sha256: the digest the download must match" },
    ]);
    const digest = "0".repeat(64);
    const pinned = await check("--json", file("https-sha.yaml", LAYOUT.replace("/var/lib/libvirt/images/debian-12.qcow2 }", `"${url}", sha256: "${digest}" }`)));
    // Valid now: only the layout's own violations remain (exit 1), no error from the loader or the provider's checks.
    expect([pinned.code, (JSON.parse(pinned.stdout) as { errors: unknown[] }).errors]).toEqual([1, []]);
  });
});
