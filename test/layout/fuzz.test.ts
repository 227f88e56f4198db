import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { LayoutError } from "../../layout/errors";
import { parseLayout } from "../../layout/load";

/** What parseLayout did: loaded, or threw a LayoutError; anything else is a crash. */
function outcome(text: string): "loaded" | "LayoutError" | string {
  try {
    parseLayout(text, "fuzz.yaml", { now: 0 });
    return "loaded";
  } catch (error) {
    return error instanceof LayoutError ? "LayoutError" : String(error);
  }
}

describe("parseLayout on arbitrary input", () => {
  it("only ever loads or throws a LayoutError on random text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        expect(["loaded", "LayoutError"]).toContain(outcome(text));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("only ever loads or throws a LayoutError on random YAML values", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (value) => {
        expect(["loaded", "LayoutError"]).toContain(outcome(stringify(value) ?? ""));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it("only ever loads or throws a LayoutError on mutated layouts", () => {
    const qube = fc.record(
      {
        class: fc.constantFrom("AppVM", "NetVM", "ProxyVM", "UsbVM", "DispVM", "StandaloneVM", "Bogus"),
        netvm: fc.constantFrom("sys-net", "sys-firewall", "work", null, "nope"),
        template: fc.constantFrom("debian-12", "work", "dvm"),
        firewall: fc.array(fc.dictionary(fc.constantFrom("action", "proto", "dstports", "dsthost", "specialtarget", "icmptype"), fc.oneof(fc.string(), fc.integer(), fc.constant("dns"), fc.constant("tcp"))), { maxLength: 3 }),
        uplink: fc.constantFrom({ bridge: "br0" }, { network: "x", bridge: "y" }, {}),
        template_for_dispvms: fc.boolean(),
      },
      { requiredKeys: ["class"] },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("sys-net", "sys-firewall", "work", "dvm", "x"), qube), (qubes) => {
        const layout = { version: 1, templates: { "debian-12": { image: "/var/lib/libvirt/images/d.qcow2" } }, qubes };
        expect(["loaded", "LayoutError"]).toContain(outcome(stringify(layout)));
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
