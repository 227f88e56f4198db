// components/provider.nft with the real nft (Debian's nftables, as in the lab image and a stock
// image): it parses and loads, and a provider's user-data applied as cloud-init would (its
// write_files written, its runcmd run in order, inside a network namespace whose interfaces
// carry the qube's MACs) leaves exactly that ruleset with the qube's elements, forwarding on.
// Needs root and nft; skipped otherwise.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerRuleset, qubeSeed } from "../../components/seed";
import { loadLayout } from "../../layout/load";

const run = promisify(execFile);
const REPO = join(__dirname, "..", "..");
const NFT = ["/usr/sbin/nft", "/sbin/nft"].find((p) => existsSync(p));
const runnable = NFT !== undefined && process.getuid?.() === 0;
const NS = `bhtest-nft-${process.pid}`;

const inNs = (cmd: string, args: string[]) => run("ip", ["netns", "exec", NS, cmd, ...args], { timeout: 60_000 });

describe.skipIf(!runnable)("the provider ruleset under the real nft", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bhtest-nft-"));
    await run("ip", ["netns", "add", NS]);
  });
  afterAll(async () => {
    await run("ip", ["netns", "del", NS]).catch(() => undefined);
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("checks (nft -c -f) as the file in the repo", async () => {
    const { stdout, stderr } = await inNs(NFT as string, ["-c", "-f", join(REPO, "components", "provider.nft")]);
    expect(`${stdout}${stderr}`).toBe("");
  });

  it("a ProxyVM's user-data, applied as cloud-init would, loads exactly the ruleset with its client interface and DNS pair", async () => {
    const layout = loadLayout(join(REPO, "stacks", "dev.yaml"));
    const qube = layout.qubes.find((q) => q.name === "sys-firewall")!;
    const seed = qubeSeed(layout.host, qube);
    const ud = parse(seed.userData) as { write_files: { path: string; content: string; permissions: string }[]; runcmd: string[][] };
    // Interfaces as the guest would see them: kernel names, the qube's MACs.
    const macs = [qube.addressing!.mac, qube.provides!.mac];
    for (const [i, mac] of macs.entries()) {
      await inNs("ip", ["link", "add", `ens${3 + i}`, "address", mac, "type", "veth", "peer", "name", `peer${i}`]);
      await inNs("ip", ["link", "set", `ens${3 + i}`, "up"]);
    }
    // write_files into a private root, bound over /etc and /usr/local/sbin in the namespace's
    // own mount namespace (`ip netns exec` makes one), so the runcmd finds them where it looks.
    const root = join(dir, "root");
    for (const f of ud.write_files) {
      await mkdir(join(root, dirname(f.path)), { recursive: true });
      await writeFile(join(root, f.path), f.content, { mode: Number.parseInt(f.permissions, 8) });
    }
    expect(ud.runcmd).toEqual([["/usr/local/sbin/bulkhead-provider"]]);
    const script = ud.runcmd.map((argv) => argv.map((a) => `'${a}'`).join(" ")).join("\n");
    const { stdout } = await inNs("sh", [
      "-c",
      `mount --bind '${root}/etc' /etc && mount --bind '${root}/usr/local/sbin' /usr/local/sbin && ${script}`,
    ]);
    const sha = createHash("sha256").update(providerRuleset()).digest("hex");
    expect(stdout.split("\n").filter((l) => l.startsWith("bulkhead: "))).toEqual([
      `bulkhead: provider ruleset sha256 ${sha}`,
      "bulkhead: provider: forwarding ens4 -> upstream, dns -> 10.139.1.1 10.139.1.2",
    ]);
    expect((await inNs("sysctl", ["-n", "net.ipv4.ip_forward"])).stdout.trim()).toBe("1");

    // The same as loading the repo's file and the elements by hand, in a second namespace.
    const ref = `${NS}-ref`;
    await run("ip", ["netns", "add", ref]);
    try {
      const elements = join(dir, "elements.nft");
      await writeFile(
        elements,
        'add element inet bulkhead clients { "ens4" }\nadd element inet bulkhead dns { 10.139.1.1 : 10.139.1.1, 10.139.1.2 : 10.139.1.2 }\n',
      );
      await run("ip", ["netns", "exec", ref, NFT as string, "-f", join(REPO, "components", "provider.nft")]);
      await run("ip", ["netns", "exec", ref, NFT as string, "-f", elements]);
      const want = (await run("ip", ["netns", "exec", ref, NFT as string, "list", "ruleset"])).stdout;
      const got = (await inNs(NFT as string, ["list", "ruleset"])).stdout;
      expect(got).toBe(want);
      expect(got).toContain('elements = { "ens4" }');
      expect(got).toContain("type filter hook forward priority filter; policy drop;");
    } finally {
      await run("ip", ["netns", "del", ref]);
    }
  });

  it("is replaced, not doubled, when applied again (a NetVM whose lease changed), and leaves other tables alone", async () => {
    await inNs(NFT as string, ["add", "table", "inet", "other"]);
    const elements = 'add element inet bulkhead clients { "ens4" }\n';
    await writeFile(join(dir, "again.nft"), providerRuleset() + elements);
    await inNs(NFT as string, ["-f", join(dir, "again.nft")]);
    const tables = (await inNs(NFT as string, ["list", "tables"])).stdout;
    expect(tables.trim().split("\n").sort()).toEqual(["table inet bulkhead", "table inet other"]);
    const listed = (await inNs(NFT as string, ["list", "map", "inet", "bulkhead", "dns"])).stdout;
    expect(listed).not.toContain("elements");
  });
});
