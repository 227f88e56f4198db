// The policy pack inside the real Pulumi engine gives the same verdicts as
// `bulkhead check`: every layout of the violations corpus is previewed on a
// fresh stack (local file backend, temp dir) with `--policy-pack policies`, and
// the engine's policy events are compared with check's JSON. A preview of a new
// stack only calls the provider's Check, so no libvirtd is needed: the stacks
// point at a URI where nothing listens, and any attempt to connect would fail.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { check, corpus, newStack, preview, setUpEngine, skipReason } from "./engine";

const reason = skipReason();
const files = fs.existsSync(corpus) ? fs.readdirSync(corpus).filter((f) => f.endsWith(".yaml")).sort() : [];
let work = "";

describe.skipIf(reason !== undefined)(
  `pulumi preview --policy-pack policies agrees with bulkhead check on the violations corpus${
    reason !== undefined ? ` (skipped: ${reason})` : ""
  }`,
  () => {
    beforeAll(async () => {
      work = await setUpEngine();
    }, 300_000);

    afterAll(() => {
      if (work !== "") fs.rmSync(work, { recursive: true, force: true });
    });

    it("there is a corpus to compare", () => {
      expect(files.length).toBeGreaterThan(0);
    });

    // Files one after another (each preview starts the engine, the program and the pack: ~5 s).
    it.each(files)(
      "%s: the engine reports the policies check reports",
      async (file) => {
        const layout = path.join(corpus, file);
        const stack = file.replace(/\.yaml$/, "").replace(/[^A-Za-z0-9-]/g, "-");
        const args = await newStack(stack, layout);
        const [engine, offline] = await Promise.all([preview(stack, ...args), check(layout)]);
        // First, so a provider or program error is what a failure shows: a mandatory violation
        // fails both, nothing else may fail the preview (the pack runs only on a clean one).
        expect(engine.errors).toEqual(offline.code === 1 ? ["preview failed\n"] : []);
        const names = (vs: string[]) => [...new Set(vs.map((v) => v.split(" ")[1]))].sort();
        expect(names(engine.verdicts)).toEqual(names(offline.verdicts));
        // Stronger: the same level, policy and qube for every finding, as many times.
        expect(engine.verdicts).toEqual(offline.verdicts);
        expect(engine.code).toBe(offline.code);
      },
      120_000,
    );
  },
);
