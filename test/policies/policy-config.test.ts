// Every policy's level and configuration can be set with `--policy-pack-config`,
// in the engine as in `evaluate` (which `bulkhead check` and `audit` use).
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulateLayout } from "../../components/simulate";
import { parseLayout } from "../../layout/load";
import { evaluate } from "../../policies/evaluate";
import { fromResources } from "../../policies/model";
import { rules } from "../../policies/pack";
import { key, newStack, policyArgs, preview, setUpEngine, skipReason } from "./engine";

// Two mandatory and two advisory findings, each from a different policy.
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
  "advisory memory-budget dom0",
  "advisory uplink-host-isolated sys-net",
  "mandatory clients-behind-proxy work",
  "mandatory pci-netvm-usbvm-only media",
];

const reason = skipReason();
let work = "";
let layout = "";
let args: string[] = [];
/** Preview arguments with `config` on top of the layout's own (its host.memory). */
const withConfig = (name: string, config: Record<string, unknown>): string[] => policyArgs(`${name}.json`, layout, config);

const ALL = rules.map((r) => r.name).sort();
const every = (level: unknown): Record<string, unknown> => Object.fromEntries(rules.map((r) => [r.name, level]));

describe("evaluate takes the same levels and configuration", () => {
  it("disables one policy and makes an advisory one mandatory", async () => {
    const model = fromResources(await simulateLayout(parseLayout(LAYOUT, "/srv/many.yaml")));
    expect(evaluate(model, { hostMemoryMiB: 700 }).map(key).sort()).toEqual(DEFAULTS);
    const levels = { "clients-behind-proxy": "disabled", "memory-budget": "mandatory" } as const;
    expect(evaluate(model, { hostMemoryMiB: 700, levels }).map(key).sort()).toEqual([
      "advisory uplink-host-isolated sys-net",
      "mandatory memory-budget dom0",
      "mandatory pci-netvm-usbvm-only media",
    ]);
  });
});

describe.skipIf(reason !== undefined)(
  `pulumi preview --policy-pack-config sets every policy's level and config${reason !== undefined ? ` (skipped: ${reason})` : ""}`,
  () => {
    beforeAll(async () => {
      work = await setUpEngine();
      layout = path.join(work, "many.yaml");
      fs.writeFileSync(layout, LAYOUT);
      // One stack for every preview: only the policy config changes between them.
      args = await newStack("config", layout);
    }, 300_000);

    afterAll(() => {
      if (work !== "") fs.rmSync(work, { recursive: true, force: true });
    });

    it("default levels: the findings check reports", async () => {
      const r = await preview("config", ...args);
      expect(r).toEqual({ code: 1, verdicts: DEFAULTS, ran: ALL, errors: ["preview failed\n"] });
    }, 120_000);

    it("one policy disabled and an advisory one made mandatory", async () => {
      const extra = withConfig("levels", {
        "clients-behind-proxy": "disabled",
        "memory-budget": { enforcementLevel: "mandatory" },
      });
      const r = await preview("config", ...extra);
      expect(r).toEqual({
        code: 1,
        verdicts: [
          "advisory uplink-host-isolated sys-net",
          "mandatory memory-budget dom0",
          "mandatory pci-netvm-usbvm-only media",
        ],
        ran: ALL.filter((n) => n !== "clients-behind-proxy"),
        errors: ["preview failed\n"],
      });
    }, 120_000);

    it("every policy can be disabled by name", async () => {
      expect(ALL).toHaveLength(16);
      const r = await preview("config", ...(withConfig("off", every("disabled"))));
      expect(r).toEqual({ code: 0, verdicts: [], ran: [], errors: [] });
    }, 120_000);

    it("every policy can be made advisory: same findings, nothing fails", async () => {
      const r = await preview("config", ...(withConfig("advisory", every({ enforcementLevel: "advisory" }))));
      expect(r).toEqual({
        code: 0,
        verdicts: DEFAULTS.map((v) => v.replace(/^mandatory/, "advisory")).sort(),
        ran: ALL,
        errors: [],
      });
    }, 120_000);

    it("a config value of the wrong type is refused by the pack's schema", async () => {
      const r = await preview("config", ...(withConfig("bad", { "usb-confined": { usbControllers: "0000:00:14.0" } })));
      expect(r).toEqual({
        code: 1,
        verdicts: [],
        ran: [],
        errors: ["validating policy config: bulkhead-isolation 0.1.0  usb-confined: usbControllers: Invalid type. Expected: array, given: string\n"],
      });
    }, 120_000);

    it("usb-confined's usbControllers config reaches the policy", async () => {
      const r = await preview("config", ...(withConfig("usb", { "usb-confined": { usbControllers: ["0000:00:14.0"] } })));
      expect(r).toEqual({
        code: 1,
        verdicts: [...DEFAULTS, "mandatory usb-confined media"].sort(),
        ran: ALL,
        errors: ["preview failed\n"],
      });
    }, 120_000);
  },
);
