// A minimal ISO 9660 writer for NoCloud seed images: one flat root directory
// holding a handful of small files. No npm library writes ISO images in pure
// JS, and shelling out to genisoimage would make every libvirt host client
// depend on it, so this writes the few structures a seed needs (ECMA-119 plus
// Rock Ridge, RRIP 1.10) itself. Rock Ridge `NM` entries carry the real names
// (`meta-data`, `network-config`) that ISO 9660 level-1 names cannot hold;
// Linux isofs and cloud-init read those.
//
// The output is deterministic (fixed timestamps), so the same seed files always
// give the same bytes.

const SECTOR = 2048;
/** Names cloud-init and the lab read; kept to portable characters and a short length. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Volume identifiers are 32 bytes; blkid shows them as written. */
const VOLUME_LABEL = /^[A-Za-z0-9_-]{1,32}$/;
const DIR_MODE = 0o040555;
const FILE_MODE = 0o100444;
/** 2000-01-01 00:00:00 UTC: fixed so images are reproducible. */
const RECORD_DATE = Buffer.from([100, 1, 1, 0, 0, 0, 0]);
const VOLUME_DATE = "2000010100000000";

const ER_ID = "RRIP_1991A";
const ER_DES = "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SRC =
  "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

export interface IsoFile {
  name: string;
  data: Buffer;
}

/** Builds a seed image with volume label `volumeLabel` and `files` in its root. */
export function makeIso9660(volumeLabel: string, files: IsoFile[]): Buffer {
  if (!VOLUME_LABEL.test(volumeLabel)) {
    throw new Error(`ISO volume label ${JSON.stringify(volumeLabel)} must match ${VOLUME_LABEL}`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (!FILE_NAME.test(f.name)) {
      throw new Error(`ISO file name ${JSON.stringify(f.name)} must match ${FILE_NAME}`);
    }
    if (seen.has(f.name)) throw new Error(`ISO file name ${JSON.stringify(f.name)} given twice`);
    seen.add(f.name);
    if (f.data.length > 0xffffffff) throw new Error(`ISO file ${f.name} is too large`);
  }

  const isoNames = isoIdentifiers(files.map((f) => f.name));
  const entries = files
    .map((f, i) => ({ ...f, iso: isoNames[i] }))
    .sort((a, b) => compareIsoNames(a.iso, b.iso));

  // Fixed layout: 16 system sectors, PVD, terminator, L and M path tables,
  // the Rock Ridge continuation area (ER), the root directory, then file data.
  const ceLba = 20;
  const rootLba = 21;
  const erEntry = suspER();
  const dotRecord = (rootSize: number) =>
    dirRecord(Buffer.from([0]), rootLba, rootSize, true, [
      suspSP(),
      suspPX(DIR_MODE, 2),
      suspCE(ceLba, 0, erEntry.length),
    ]);
  const dotdotRecord = (rootSize: number) =>
    dirRecord(Buffer.from([1]), rootLba, rootSize, true, [suspPX(DIR_MODE, 2)]);

  // Record sizes do not depend on extents, so lay the directory out once with
  // placeholders to learn how many sectors it takes.
  const fileRecord = (e: (typeof entries)[number], lba: number) =>
    dirRecord(Buffer.from(e.iso, "ascii"), lba, e.data.length, false, [
      suspPX(FILE_MODE, 1),
      suspNM(e.name),
    ]);
  const rootSectors = packSectors([dotRecord(0), dotdotRecord(0), ...entries.map((e) => fileRecord(e, 0))]).length / SECTOR;
  const rootSize = rootSectors * SECTOR;

  let next = rootLba + rootSectors;
  const extents = entries.map((e) => {
    const lba = next;
    next += Math.ceil(e.data.length / SECTOR);
    return lba;
  });
  const totalSectors = next;

  const root = packSectors([
    dotRecord(rootSize),
    dotdotRecord(rootSize),
    ...entries.map((e, i) => fileRecord(e, extents[i])),
  ]);

  const image = Buffer.alloc(totalSectors * SECTOR);
  primaryVolumeDescriptor(volumeLabel, totalSectors, rootLba, rootSize).copy(image, 16 * SECTOR);
  volumeDescriptorTerminator().copy(image, 17 * SECTOR);
  pathTable(rootLba, "LE").copy(image, 18 * SECTOR);
  pathTable(rootLba, "BE").copy(image, 19 * SECTOR);
  erEntry.copy(image, ceLba * SECTOR);
  root.copy(image, rootLba * SECTOR);
  entries.forEach((e, i) => e.data.copy(image, extents[i] * SECTOR));
  return image;
}

/**
 * Level-1 identifiers (`NAME.EXT;1`, 8.3, d-characters) for readers without
 * Rock Ridge; a clash after truncation gets a numbered stem.
 */
export function isoIdentifiers(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    const dot = name.lastIndexOf(".");
    const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    const stem = clean(dot > 0 ? name.slice(0, dot) : name).slice(0, 8);
    const ext = dot > 0 ? clean(name.slice(dot + 1)).slice(0, 3) : "";
    let id = `${stem}.${ext};1`;
    for (let n = 1; used.has(id); n++) {
      const suffix = String(n);
      id = `${stem.slice(0, 8 - suffix.length)}${suffix}.${ext};1`;
    }
    used.add(id);
    return id;
  });
}

/** ECMA-119 9.3 order: by name, then extension, each padded with spaces. */
function compareIsoNames(a: string, b: string): number {
  const split = (id: string) => id.replace(/;1$/, "").split(".");
  const [an, ae] = split(a);
  const [bn, be] = split(b);
  const cmp = (x: string, y: string) => {
    const w = Math.max(x.length, y.length);
    const px = x.padEnd(w, " ");
    const py = y.padEnd(w, " ");
    return px < py ? -1 : px > py ? 1 : 0;
  };
  return cmp(an, bn) || cmp(ae, be);
}

/** Directory records never straddle a sector: a record that does not fit starts the next one. */
function packSectors(records: Buffer[]): Buffer {
  const sectors: Buffer[] = [];
  let current = Buffer.alloc(SECTOR);
  let used = 0;
  for (const r of records) {
    if (used + r.length > SECTOR) {
      sectors.push(current);
      current = Buffer.alloc(SECTOR);
      used = 0;
    }
    r.copy(current, used);
    used += r.length;
  }
  sectors.push(current);
  return Buffer.concat(sectors);
}

function dirRecord(id: Buffer, lba: number, size: number, isDir: boolean, susp: Buffer[]): Buffer {
  const system = Buffer.concat(susp);
  const pad = id.length % 2 === 0 ? 1 : 0;
  let length = 33 + id.length + pad + system.length;
  length += length % 2;
  if (length > 255) throw new Error(`ISO directory record too long (${length} bytes)`);
  const r = Buffer.alloc(length);
  r[0] = length;
  both32(lba).copy(r, 2);
  both32(size).copy(r, 10);
  RECORD_DATE.copy(r, 18);
  r[25] = isDir ? 0x02 : 0x00;
  both16(1).copy(r, 28);
  r[32] = id.length;
  id.copy(r, 33);
  system.copy(r, 33 + id.length + pad);
  return r;
}

function primaryVolumeDescriptor(label: string, totalSectors: number, rootLba: number, rootSize: number): Buffer {
  const d = Buffer.alloc(SECTOR);
  d[0] = 1;
  d.write("CD001", 1, "ascii");
  d[6] = 1;
  d.write(" ".repeat(32), 8, "ascii"); // system identifier
  d.write(label.padEnd(32, " "), 40, "ascii");
  both32(totalSectors).copy(d, 80);
  both16(1).copy(d, 120); // volume set size
  both16(1).copy(d, 124); // volume sequence number
  both16(SECTOR).copy(d, 128);
  both32(10).copy(d, 132); // path table size: the root's entry only
  d.writeUInt32LE(18, 140);
  d.writeUInt32BE(19, 148);
  dirRecord(Buffer.from([0]), rootLba, rootSize, true, []).copy(d, 156);
  d.write(" ".repeat(623), 190, "ascii"); // volume set, publisher, preparer, application
  d.write(" ".repeat(111), 702, "ascii"); // copyright, abstract, bibliographic files
  d.write(`${VOLUME_DATE}\0`, 813, "ascii"); // creation
  d.write(`${VOLUME_DATE}\0`, 830, "ascii"); // modification
  d.write(`${"0".repeat(16)}\0`, 847, "ascii"); // expiration: none
  d.write(`${"0".repeat(16)}\0`, 864, "ascii"); // effective: now
  d[881] = 1; // file structure version
  return d;
}

function volumeDescriptorTerminator(): Buffer {
  const d = Buffer.alloc(SECTOR);
  d[0] = 255;
  d.write("CD001", 1, "ascii");
  d[6] = 1;
  return d;
}

function pathTable(rootLba: number, order: "LE" | "BE"): Buffer {
  const t = Buffer.alloc(10);
  t[0] = 1; // identifier length
  if (order === "LE") {
    t.writeUInt32LE(rootLba, 2);
    t.writeUInt16LE(1, 6);
  } else {
    t.writeUInt32BE(rootLba, 2);
    t.writeUInt16BE(1, 6);
  }
  return t; // identifier 0x00 and the pad byte are already zero
}

// ---------------------------------------------------------------- SUSP / Rock Ridge

function susp(sig: string, body: Buffer): Buffer {
  const e = Buffer.alloc(4 + body.length);
  e.write(sig, 0, "ascii");
  e[2] = e.length;
  e[3] = 1;
  body.copy(e, 4);
  return e;
}

/** SUSP indicator: first entry of the root's "." record. */
function suspSP(): Buffer {
  return susp("SP", Buffer.from([0xbe, 0xef, 0]));
}

/** POSIX attributes (RRIP 1.10 form, without the serial number). */
function suspPX(mode: number, links: number): Buffer {
  return susp("PX", Buffer.concat([both32(mode), both32(links), both32(0), both32(0)]));
}

function suspNM(name: string): Buffer {
  return susp("NM", Buffer.concat([Buffer.from([0]), Buffer.from(name, "ascii")]));
}

/** Continuation area: the ER entry does not fit in the root's "." record. */
function suspCE(lba: number, offset: number, length: number): Buffer {
  return susp("CE", Buffer.concat([both32(lba), both32(offset), both32(length)]));
}

/** Extensions reference: declares Rock Ridge to readers that require it. */
function suspER(): Buffer {
  const head = Buffer.from([ER_ID.length, ER_DES.length, ER_SRC.length, 1]);
  return susp("ER", Buffer.concat([head, Buffer.from(ER_ID + ER_DES + ER_SRC, "ascii")]));
}

function both16(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(n, 0);
  b.writeUInt16BE(n, 2);
  return b;
}

function both32(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}
