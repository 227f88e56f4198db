// The seed image is read back by independent readers from Debian: isoinfo
// (genisoimage), xorriso and blkid (util-linux). CI installs genisoimage and
// xorriso.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isoIdentifiers, makeIso9660 } from "../../provider/iso9660";

const seed = [
  { name: "meta-data", data: Buffer.from("instance-id: work\nlocal-hostname: work\n") },
  { name: "user-data", data: Buffer.from("#cloud-config\npackages: []\n") },
  { name: "network-config", data: Buffer.from("version: 2\nethernets: {}\n") },
  // Over one sector, so multi-sector extents are read back too.
  { name: "bulkhead.env", data: Buffer.from("X=" + "y".repeat(5000) + "\n") },
];

let dir: string;
let iso: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bulkhead-iso-"));
  iso = join(dir, "seed.iso");
  writeFileSync(iso, makeIso9660("cidata", seed));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("makeIso9660 read back by isoinfo", () => {
  test("lists the Rock Ridge names exactly", () => {
    expect(run("isoinfo", ["-R", "-f", "-i", iso])).toBe(
      "/bulkhead.env\n/meta-data\n/network-config\n/user-data\n",
    );
  });

  test("lists the level-1 names for readers without Rock Ridge", () => {
    const names = run("isoinfo", ["-l", "-i", iso])
      .split("\n")
      .filter((l) => l.startsWith("-"))
      .map((l) => l.trim().split(/\s+/).pop());
    expect(names).toEqual(["BULKHEAD.ENV;1", "META_DAT.;1", "NETWORK_.;1", "USER_DAT.;1"]);
  });

  test.each(seed)("extracts $name byte for byte", ({ name, data }) => {
    const out = execFileSync("isoinfo", ["-R", "-x", `/${name}`, "-i", iso]);
    expect(out.equals(data)).toBe(true);
  });

  test("declares Rock Ridge and the volume label", () => {
    const info = run("isoinfo", ["-d", "-i", iso]);
    expect(info).toContain("Volume id: cidata\n");
    expect(info).toContain("Rock Ridge signatures version 1 found\n");
    expect(info).toContain("Logical block size is: 2048\n");
    // 16 system + PVD + terminator + 2 path tables + CE + root + 3+1+1+1 data sectors.
    expect(info).toContain("Volume size is: 28\n");
  });
});

describe("makeIso9660 read back by xorriso and blkid", () => {
  test("xorriso finds the files with read-only modes", () => {
    const listing = run("xorriso", ["-indev", iso, "-find", "/", "-type", "f", "-exec", "lsdl"]);
    const rows = listing
      .trim()
      .split("\n")
      .map((l) => {
        const f = l.split(/\s+/);
        return [f[0], f[4], f[f.length - 1]];
      });
    expect(rows).toEqual([
      ["-r--r--r--", "5003", "'/bulkhead.env'"],
      ["-r--r--r--", "39", "'/meta-data'"],
      ["-r--r--r--", "25", "'/network-config'"],
      ["-r--r--r--", "27", "'/user-data'"],
    ]);
  });

  test("blkid sees an iso9660 filesystem labelled cidata", () => {
    expect(run("blkid", ["-o", "export", "-s", "LABEL", "-s", "TYPE", iso])).toBe(
      `DEVNAME=${iso}\nLABEL=cidata\nTYPE=iso9660\n`,
    );
  });
});

describe("makeIso9660 output", () => {
  test("is deterministic", () => {
    expect(makeIso9660("cidata", seed).equals(makeIso9660("cidata", seed))).toBe(true);
  });

  test("an empty seed is a valid 22-sector image", () => {
    expect(makeIso9660("cidata", []).length).toBe(22 * 2048);
  });
});

describe("makeIso9660 rejects", () => {
  const data = Buffer.from("x");
  test.each([
    ["a name with a slash", "dir/file", 'ISO file name "dir/file" must match'],
    ["a name with a space", "user data", 'ISO file name "user data" must match'],
    ["a name with a quote", "it's", `ISO file name "it's" must match`],
    ["a non-ASCII name", "métadata", 'ISO file name "métadata" must match'],
    ["a dot name", "..", 'ISO file name ".." must match'],
    ["an empty name", "", 'ISO file name "" must match'],
    ["a 65-character name", "a".repeat(65), `ISO file name "${"a".repeat(65)}" must match`],
  ])("%s", (_what, name, message) => {
    expect(() => makeIso9660("cidata", [{ name, data }])).toThrow(message);
  });

  test("a 64-character name is accepted", () => {
    expect(makeIso9660("cidata", [{ name: "a".repeat(64), data }]).length).toBe(23 * 2048);
  });

  test("a name given twice", () => {
    expect(() =>
      makeIso9660("cidata", [
        { name: "meta-data", data },
        { name: "meta-data", data },
      ]),
    ).toThrow('ISO file name "meta-data" given twice');
  });

  test.each(["", "ci data", "x".repeat(33)])("the volume label %j", (label) => {
    expect(() => makeIso9660(label, [])).toThrow(`ISO volume label ${JSON.stringify(label)} must match`);
  });
});

describe("isoIdentifiers", () => {
  test("maps to unique 8.3 d-character names", () => {
    expect(isoIdentifiers(["meta-data", "metadata-x", "metadata-y", "a.b.tar.gz", "x.y"])).toEqual([
      "META_DAT.;1",
      "METADATA.;1",
      "METADAT1.;1",
      "A_B_TAR.GZ;1",
      "X.Y;1",
    ]);
  });
});
