import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOURNAL_DIR_ENV } from "../../provider/journal";
import { checkpointEnv, engine, journalDir } from "../../deploy/engine";

describe("the engine's environment", () => {
  it("checkpoints at the end of a run unless every step is asked for", () => {
    expect(checkpointEnv({})).toEqual({ PULUMI_SKIP_CHECKPOINTS: "true" });
    expect(checkpointEnv({ BULKHEAD_CHECKPOINTS: "end-of-run" })).toEqual({ PULUMI_SKIP_CHECKPOINTS: "true" });
    expect(checkpointEnv({ BULKHEAD_CHECKPOINTS: "every-step" })).toEqual({ PULUMI_SKIP_CHECKPOINTS: "false" });
    expect(() => checkpointEnv({ BULKHEAD_CHECKPOINTS: "sometimes" })).toThrow(
      "BULKHEAD_CHECKPOINTS=sometimes: use end-of-run (the default) or every-step",
    );
  });

  it("keeps the create journal next to a file backend's state", () => {
    expect(journalDir({ BULKHEAD_BACKEND_URL: "file:///srv/state" })).toBe("/srv/state/.bulkhead-journal");
  });

  it("hands the engine (and so the provider) the journal directory and the checkpoint mode", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bulkhead-env-"));
    const { env } = await engine({ BULKHEAD_BACKEND_URL: `file://${dir}`, BULKHEAD_CHECKPOINTS: "every-step" });
    expect(env[JOURNAL_DIR_ENV]).toBe(join(dir, ".bulkhead-journal"));
    expect(env["PULUMI_SKIP_CHECKPOINTS"]).toBe("false");
    expect(env["PULUMI_BACKEND_URL"]).toBe(`file://${dir}`);
  });
});
