// Pure parts of the provider: no libvirt needed.
import { describe, expect, it } from "vitest";
import { imageFacts, seedFiles } from "../../provider/image";
import { sameMachine } from "../../provider/kinds/domain";
import { UNKNOWN, changedKeys, keepDeclared, unwrapSecrets } from "../../provider/kinds/kind";
import { volumeReplaces } from "../../provider/kinds/volume";
import { BulkheadProvider, propertyPath, typeOfUrn } from "../../provider/provider";

const provider = new BulkheadProvider();
const filterUrn = "urn:pulumi:dev::bulkhead::bulkhead:index:Qube$bulkhead:libvirt:NwFilter::work-fw";

describe("provider core", () => {
  it("finds the resource type in a URN, also under a parent component", () => {
    expect(typeOfUrn(filterUrn)).toBe("bulkhead:libvirt:NwFilter");
    expect(typeOfUrn("urn:pulumi:dev::bulkhead::bulkhead:libvirt:Pool::p")).toBe("bulkhead:libvirt:Pool");
  });

  it("spells property paths the way Pulumi shows them", () => {
    expect(propertyPath(["devices", "disks", 0, "source", "file"])).toBe("devices.disks[0].source.file");
  });

  it("compares only declared inputs; an unknown value counts as a change", () => {
    expect(changedKeys({ name: "a", uuid: "u", memory: 1 }, { name: "a", memory: 1 }, ["uuid"])).toEqual([]);
    expect(changedKeys({ name: "a", memory: 1 }, { name: "a", memory: 2, autostart: true }, [])).toEqual(["autostart", "memory"]);
    expect(changedKeys({ name: "a" }, { name: UNKNOWN }, [])).toEqual(["name"]);
  });

  it("trims live state to what was declared, keeps extra array elements and treats an absent flag as false", () => {
    const declared = { a: 1, flags: { ro: false }, list: [{ x: 1 }] };
    const live = { a: 2, b: 3, flags: {}, list: [{ x: 1, y: 2 }, { x: 5, y: 6 }] };
    expect(keepDeclared(declared, live)).toEqual({ a: 2, flags: { ro: false }, list: [{ x: 1 }, { x: 5, y: 6 }] });
    expect(keepDeclared({ a: 1 }, { a: 1, extra: [1] }, (p) => p === "extra")).toEqual({ a: 1, extra: [1] });
  });

  it("unwraps the engine's secret values", () => {
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "s3cret" };
    expect(unwrapSecrets({ seed: { userData: secret } })).toEqual({ seed: { userData: "s3cret" } });
  });

  it("check skips failures caused by values unknown during preview, and reports the rest", async () => {
    const inputs = { uri: "qemu:///system", name: UNKNOWN, rules: [{ action: "drop", direction: "out", priority: 5000, protocol: "all" }] };
    expect(await provider.check(filterUrn, {}, inputs)).toEqual({
      inputs,
      failures: [{ property: "rules[0].priority", reason: "Too big: expected number to be <=1000" }],
    });
  });

  it("volume: only a grown capacity or new seed contents are updated in place", () => {
    const v = { uri: "u", name: "v", pool: "p", capacity: 10, format: "raw" as const, seed: { metaData: "a", userData: "b" } };
    expect(volumeReplaces(["capacity", "seed"], v, { ...v, capacity: 20, seed: { metaData: "c", userData: "b" } })).toEqual([]);
    expect(volumeReplaces(["capacity", "format"], v, { ...v, capacity: 5, format: "qcow2" })).toEqual(["capacity", "format"]);
  });

  it("reads image facts from the header", () => {
    const qcow2 = Buffer.alloc(32);
    Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(qcow2);
    qcow2.writeBigUInt64BE(BigInt(64 * 1024 * 1024), 24);
    expect(imageFacts(qcow2, 196616)).toEqual({ format: "qcow2", virtualSize: 67108864 });
    expect(imageFacts(Buffer.alloc(32), 4096)).toEqual({ format: "raw", virtualSize: 4096 });
  });

  it("orders seed files and refuses a clash with a NoCloud name", () => {
    expect(seedFiles({ metaData: "m", userData: "u", networkConfig: "n", files: { z: "1", a: "2" } }).map((f) => f.name)).toEqual([
      "meta-data",
      "user-data",
      "network-config",
      "a",
      "z",
    ]);
    expect(() => seedFiles({ metaData: "m", userData: "u", files: { "user-data": "x" } })).toThrow(
      "seed.files.user-data clashes with a NoCloud file",
    );
  });

  it("treats libvirt's expansion of a machine alias as the same machine", () => {
    expect([sameMachine("pc", "pc-i440fx-7.2"), sameMachine("q35", "pc-q35-7.2"), sameMachine("pc", "pc-q35-7.2")]).toEqual([true, true, false]);
  });
});
