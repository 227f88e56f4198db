import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CreateJournal, journalFile, journalKey, journalsOf, readJournal, unfinishedCreates } from "../../provider/journal";

const URN = "urn:pulumi:dev::bulkhead::bulkhead:qubes:Layout$bulkhead:libvirt:Volume::bulkhead-work-private";
const tmp = () => mkdtempSync(join(tmpdir(), "bulkhead-journal-"));

describe("create journal", () => {
  it("keys a journal by project and stack, file-name safe", () => {
    expect(journalKey(URN)).toBe("bulkhead.dev");
    expect(journalKey("urn:pulumi:org/x y::proj::t::n")).toBe("proj.org_x_y");
  });

  it("records creating, then created with the id; a failed create says so", async () => {
    const dir = tmp();
    const j = new CreateJournal(dir, 4242);
    const inputs = { uri: "qemu:///system", name: "dev-work-private", pool: "p" };
    await expect(j.around(URN, "bulkhead:libvirt:Volume", inputs, () => Promise.resolve({ id: "/p/dev-work-private.qcow2" }))).resolves.toEqual({
      id: "/p/dev-work-private.qcow2",
    });
    await expect(j.around(`${URN}2`, "bulkhead:libvirt:Volume", inputs, () => Promise.reject(new Error("exists")))).rejects.toThrow("exists");
    expect(readdirSync(dir)).toEqual(["bulkhead.dev.4242.jsonl"]);
    expect(readJournal(journalFile(dir, "bulkhead.dev", 4242))).toEqual([
      { op: "creating", urn: URN, type: "bulkhead:libvirt:Volume", inputs },
      { op: "created", urn: URN, id: "/p/dev-work-private.qcow2" },
      { op: "creating", urn: `${URN}2`, type: "bulkhead:libvirt:Volume", inputs },
      { op: "failed", urn: `${URN}2` },
    ]);
  });

  it("journals the create's claim (the UUID it will give, whether the name was taken) before the call, and keeps it for recovery", async () => {
    const dir = tmp();
    const j = new CreateJournal(dir, 7);
    const claim = { uuid: "6f1d6c1e-8d0b-4c1e-9d7e-0c8a1b2c3d4e" };
    let linesDuringCreate: unknown[] = [];
    await j.around(URN, "bulkhead:libvirt:Domain", { name: "d" }, () => {
      linesDuringCreate = readJournal(journalFile(dir, "bulkhead.dev", 7));
      return Promise.resolve({ id: claim.uuid });
    }, claim);
    expect(linesDuringCreate).toEqual([{ op: "creating", urn: URN, type: "bulkhead:libvirt:Domain", inputs: { name: "d" }, claim }]);
    // A create that never finishes (the run is killed during it): its line is written at once.
    void j.around(`${URN}2`, "bulkhead:libvirt:Pool", { name: "default" }, () => new Promise<{ id: string }>(() => undefined), { existed: true });
    // A killed run: the pool's create never finished; its claim says the name existed before (adopted).
    expect(unfinishedCreates(readJournal(journalFile(dir, "bulkhead.dev", 7))).map((e) => [e.urn, e.claim])).toEqual([
      [URN, claim],
      [`${URN}2`, { existed: true }],
    ]);
  });

  it("writes nothing without a directory", async () => {
    const j = new CreateJournal("", 1);
    await expect(j.around(URN, "t", {}, () => Promise.resolve({ id: "x" }))).resolves.toEqual({ id: "x" });
  });

  it("unfinished creates: begun and not failed, with the id once created", () => {
    expect(
      unfinishedCreates([
        { op: "creating", urn: "a", type: "T", inputs: { name: "a" } },
        { op: "creating", urn: "b", type: "T", inputs: { name: "b" } },
        { op: "creating", urn: "c", type: "T", inputs: { name: "c" } },
        { op: "created", urn: "a", id: "ida" },
        { op: "failed", urn: "b" },
      ]),
    ).toEqual([
      { op: "creating", urn: "a", type: "T", inputs: { name: "a" }, id: "ida" },
      { op: "creating", urn: "c", type: "T", inputs: { name: "c" } },
    ]);
  });

  it("skips a torn last line and lists only this stack's journals, by engine pid", () => {
    const dir = tmp();
    const f = journalFile(dir, "bulkhead.dev", 7);
    writeFileSync(f, JSON.stringify({ op: "creating", urn: "a", type: "T", inputs: {} }) + "\n");
    appendFileSync(f, '{"op":"crea');
    expect(readJournal(f)).toEqual([{ op: "creating", urn: "a", type: "T", inputs: {} }]);
    writeFileSync(journalFile(dir, "bulkhead.dev", 12), "");
    writeFileSync(journalFile(dir, "bulkhead.dev2", 9), "");
    writeFileSync(join(dir, "bulkhead.dev.x.jsonl"), "");
    expect(journalsOf(dir, "bulkhead.dev")).toEqual([
      { file: f, enginePid: 7 },
      { file: journalFile(dir, "bulkhead.dev", 12), enginePid: 12 },
    ]);
    expect(journalsOf(join(dir, "missing"), "bulkhead.dev")).toEqual([]);
  });
});
