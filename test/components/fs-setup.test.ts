// A qube's private volume is formatted once, never again: the seed's `fs_setup` run through
// Debian's own cloud-init 22.4 (cc_disk_setup.mkfs) twice on one device, as two boots of a qube
// whose root is transient (every boot is cloud-init's first). With `partition: "none"`, what the
// seed said before, cloud-init formats the device at every run: the stock proof found /rw wiped
// after a restart. Needs root (a loop device); skipped where cloud-init or losetup is missing.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { guestSeed, PRIVATE_DEVICE, qubeGuest } from "../../components/seed";
import { loadLayout } from "../../layout/load";

const run = promisify(execFile);
const REPO = join(__dirname, "..", "..");
const PYTHON = "/usr/bin/python3";
const runnable = existsSync("/usr/lib/python3/dist-packages/cloudinit/config/cc_disk_setup.py") && existsSync("/usr/sbin/losetup") && process.getuid?.() === 0;

// The device cloud-init is given, and the fs_setup entry (JSON) on argv. This machine runs no
// udev, so its lsblk reports no FSTYPE or LABEL, which a booted guest's lsblk does (systemd-udevd
// probed the disk): enumerate_disk is completed from blkid, cloud-init's decisions are its own.
const SCRIPT = String.raw`
import json, subprocess, sys
from cloudinit.config import cc_disk_setup
dev, cfg = sys.argv[1], json.loads(sys.argv[2])
cfg["device"] = dev
_enum = cc_disk_setup.enumerate_disk
def blkid(tag, node):
    return subprocess.run(["blkid", "-s", tag, "-o", "value", node], capture_output=True, text=True).stdout.strip()
def enumerate_disk(device, nodeps=False):
    for d in _enum(device, nodeps):
        d["fstype"], d["label"] = blkid("TYPE", "/dev/" + d["name"]), blkid("LABEL", "/dev/" + d["name"])
        yield d
cc_disk_setup.enumerate_disk = enumerate_disk
uuids = []
for boot in (1, 2):
    cc_disk_setup.mkfs(dict(cfg))
    uuids.append(blkid("UUID", dev) + "/" + blkid("LABEL", dev) + "/" + blkid("TYPE", dev))
print(json.dumps(uuids))
`;

/** The fs_setup entry of the stock stack's `work` seed. */
function seedFsSetup(): Record<string, unknown> {
  const layout = loadLayout(join(REPO, "stacks", "stock.yaml"));
  const work = layout.qubes.find((q) => q.name === "work")!;
  const config = parse(guestSeed(layout.host, qubeGuest(layout.host, work)).userData) as { fs_setup: Record<string, unknown>[] };
  return config.fs_setup[0]!;
}

describe.skipIf(!runnable)("the private volume under Debian cloud-init 22.4's fs_setup, two boots", () => {
  let dir = "";
  let device = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bhtest-fs-setup-"));
  });
  afterAll(async () => {
    if (device !== "") await run("losetup", ["-d", device]);
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });
  /** [first boot, second boot] as uuid/label/type of the device, on a fresh blank 32 MiB device. */
  const twoBoots = async (cfg: Record<string, unknown>): Promise<string[]> => {
    if (device !== "") await run("losetup", ["-d", device]);
    const img = join(dir, `private-${String(Date.now())}.img`);
    await run("truncate", ["-s", "32M", img]);
    device = (await run("losetup", ["-f", "--show", img])).stdout.trim();
    const { stdout } = await run(PYTHON, ["-c", SCRIPT, device, JSON.stringify(cfg)], { timeout: 120_000 });
    return JSON.parse(stdout) as string[];
  };

  it("the seed's fs_setup formats a blank volume once, then keeps its filesystem", async () => {
    const cfg = seedFsSetup();
    expect(cfg).toEqual({ device: PRIVATE_DEVICE, partition: "auto", filesystem: "ext4", label: "private", overwrite: false });
    const [first, second] = await twoBoots(cfg);
    expect(first).toMatch(/^[0-9a-f-]{36}\/private\/ext4$/);
    expect(second).toBe(first);
  }, 180_000);

  it("partition none (the seed before) formats it again at the second boot", async () => {
    const [first, second] = await twoBoots({ ...seedFsSetup(), partition: "none" });
    expect(first).toMatch(/^[0-9a-f-]{36}\/private\/ext4$/);
    expect(second).toMatch(/^[0-9a-f-]{36}\/private\/ext4$/);
    expect(second).not.toBe(first);
  }, 180_000);
});
