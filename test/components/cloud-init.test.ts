// Every seed of every stack in stacks/, judged by Debian's own cloud-init 22.4 (scripts/setup.sh
// installs it): `cloud-init schema` accepts the user-data, cloud-init's YAML parser reads the
// provider ruleset back byte for byte, and `cloud-init devel net-convert` renders the
// network-config to exactly the addresses, routes, DNS and DHCP bulkhead means (DHCP only on a
// NetVM's uplink). Skipped where cloud-init is not installed.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_IFNAME, guestSeed, providerRuleset, qubeGuest, RULESET_PATH, templateGuest, type GuestSpec } from "../../components/seed";
import { loadLayout } from "../../layout/load";

const run = promisify(execFile);
const REPO = join(__dirname, "..", "..");
const CLOUD_INIT = "/usr/bin/cloud-init";
const installed = existsSync(CLOUD_INIT);

const stacks = readdirSync(join(REPO, "stacks"))
  .filter((f) => f.endsWith(".yaml") && !f.startsWith("Pulumi."))
  .sort();

interface Case {
  stack: string;
  guest: GuestSpec;
  userData: string;
  networkConfig: string;
  files: Record<string, string>;
}

// Every stack, and the fixture that uses every key (the layout's own cloud_init settings included).
const layouts = [...stacks.map((s) => ["stacks", s]), ["test/fixtures/valid", "every-key.yaml"]];

const cases: Case[] = layouts.flatMap(([where, stack]) => {
  const layout = loadLayout(join(REPO, where, stack));
  const guests = [...layout.templates.map((t) => templateGuest(layout.host, t)), ...layout.qubes.map((q) => qubeGuest(layout.host, q))];
  return guests.map((guest) => {
    const seed = guestSeed(layout.host, guest);
    return { stack, guest, userData: seed.userData, networkConfig: seed.networkConfig ?? "", files: seed.files ?? {} };
  });
});

/** What cloud-init 22.4's networkd renderer writes for a guest (as it formats it). */
function expectedNetworkd(guest: GuestSpec): Record<string, string> {
  const files: Record<string, string> = {};
  guest.nics.forEach((nic, i) => {
    const name = nic.role === "clients" && guest.provider?.pciUplink === true ? CLIENT_IFNAME : `if${i}`;
    let text = nic.addrs.map((a) => `[Address]\nAddress=${a}\n\n`).join("");
    text += `[Match]\nMACAddress=${nic.iface.mac.address}\nName=${name}\n\n`;
    text += `[Network]\nDHCP=${nic.dhcp ? "ipv4" : "no"}\n`;
    const upstream = nic.role === "upstream" && guest.gateway !== undefined;
    if (upstream && guest.dns.length > 0) text += `DNS=${guest.dns.join(" ")}\n`;
    text += "\n";
    if (upstream) text += `[Route]\nDestination=0.0.0.0/0\n\nGateway=${guest.gateway}\n\n`;
    files[`10-cloud-init-${name}.network`] = text;
  });
  return files;
}

async function netConvert(dir: string, networkConfig: string, kind: "networkd" | "eni"): Promise<Record<string, string>> {
  const input = join(dir, "network-config");
  const out = join(dir, `out-${kind}`);
  await writeFile(input, networkConfig);
  await run(CLOUD_INIT, ["devel", "net-convert", "-p", input, "-k", "yaml", "-d", out, "-D", "debian", "-O", kind], { timeout: 120_000 });
  const files: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    if (!existsSync(d)) return;
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else files[p.slice(out.length)] = await readFile(p, "utf8");
    }
  };
  await walk(out);
  return files;
}

/** cloud-init's own YAML parser (PyYAML) on the user-data: the write_files it would write. */
async function writeFilesAsCloudInitReads(file: string): Promise<Record<string, string>> {
  const py = "import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(json.dumps({f['path']: f['content'] for f in d.get('write_files', [])}))";
  const { stdout } = await run("python3", ["-c", py, file], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, string>;
}

const ENI_HEADER = [
  "# This file is generated from information provided by the datasource.  Changes",
  "# to it will not persist across an instance reboot.  To disable cloud-init's",
  "# network configuration capabilities, write a file",
  "# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:",
  "# network: {config: disabled}",
  "auto lo",
  "iface lo inet loopback",
];

describe.skipIf(!installed)("seeds of every stack under Debian's cloud-init 22.4", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bhtest-cloud-init-"));
  });
  afterAll(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("covers every stack", () => {
    expect(stacks).toEqual(expect.arrayContaining(["dev.yaml", "workstation.yaml"]));
    expect(cases.length).toBeGreaterThan(15);
    expect(cases.filter((c) => c.guest.cloudInit !== undefined).map((c) => `${c.stack} ${c.guest.name}`)).toEqual([
      "every-key.yaml kernel-boot",
      "every-key.yaml sys-firewall",
      "every-key.yaml work",
    ]);
  });

  it.each(cases.map((c) => [`${c.stack} ${c.guest.name}`, c] as const))("%s: user-data is valid cloud-config; the ruleset reads back byte for byte", async (label, c) => {
    const file = join(dir, `${label.replace(/[^a-z0-9.-]/g, "_")}.user-data`);
    await writeFile(file, c.userData);
    const { stdout } = await run(CLOUD_INIT, ["schema", "--config-file", file], { timeout: 120_000 });
    expect(stdout.trim()).toBe(`Valid cloud-config: ${file}`);
    const written = await writeFilesAsCloudInitReads(file);
    if (c.guest.provider !== undefined) {
      expect(written[RULESET_PATH]).toBe(providerRuleset());
      expect(c.files["provider.nft"]).toBe(providerRuleset());
    } else {
      // Only the person's own files (none in the stacks), as the layout wrote them.
      expect(written).toEqual(Object.fromEntries((c.guest.cloudInit?.write_files ?? []).map((f) => [f.path, f.content])));
      expect(Object.keys(c.files)).toEqual(["bulkhead.env"]);
    }
  }, 180_000);

  it.each(cases.map((c) => [`${c.stack} ${c.guest.name}`, c] as const))("%s: network-config renders to exactly its addresses, routes and DNS, DHCP only on an uplink", async (label, c) => {
    const sub = await mkdtemp(join(dir, "nc-"));
    const files = await netConvert(sub, c.networkConfig, "networkd");
    const rendered = Object.fromEntries(Object.entries(files).map(([p, t]) => [p.replace("/etc/systemd/network/", ""), t]));
    expect(rendered).toEqual(expectedNetworkd(c.guest));
    // DHCP exactly on the uplink NICs (a virtio uplink; a PCI uplink is no domain NIC).
    const dhcp = Object.values(rendered).filter((t) => t.includes("DHCP=ipv4")).length;
    expect(dhcp).toBe(c.guest.nics.filter((n) => n.role === "uplink").length);
    expect(c.guest.nics.every((n) => n.dhcp === (n.role === "uplink"))).toBe(true);
  }, 180_000);

  const byName = (stack: string, name: string): Case => {
    const c = cases.find((x) => x.stack === stack && x.guest.name === name);
    if (c === undefined) throw new Error(`${stack} has no ${name}`);
    return c;
  };

  it("renders dev.yaml's sys-net for ifupdown: DHCP on the uplink, the client side static", async () => {
    const c = byName("dev.yaml", "sys-net");
    const [up, cl] = c.guest.nics;
    const files = await netConvert(await mkdtemp(join(dir, "eni-")), c.networkConfig, "eni");
    expect(files).toEqual({
      "/etc/network/interfaces.d/50-cloud-init": [
        ...ENI_HEADER,
        "",
        "auto if0",
        "iface if0 inet dhcp",
        "",
        "auto if1",
        "iface if1 inet static",
        "    address 10.137.1.1/24",
        "",
        "# control-alias if1",
        "iface if1 inet static",
        "    address 10.138.1.1/24",
        "",
      ].join("\n"),
      "/etc/udev/rules.d/70-persistent-net.rules": [
        `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${up.iface.mac.address}", NAME="if0"`,
        `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${cl.iface.mac.address}", NAME="if1"`,
        "",
      ].join("\n"),
    });
  }, 120_000);

  it("renders dev.yaml's sys-firewall for ifupdown: static upstream with the default route and DNS, static client side", async () => {
    const c = byName("dev.yaml", "sys-firewall");
    const files = await netConvert(await mkdtemp(join(dir, "eni-")), c.networkConfig, "eni");
    expect(files["/etc/network/interfaces.d/50-cloud-init"]).toBe(
      [
        ...ENI_HEADER,
        "    dns-nameservers 10.139.1.1 10.139.1.2",
        "",
        "auto if0",
        "iface if0 inet static",
        "    address 10.137.1.25/24",
        "    dns-nameservers 10.139.1.1 10.139.1.2",
        "    dns {'nameservers': ['10.139.1.1', '10.139.1.2'], 'search': []}",
        "    post-up route add default gw 10.137.1.1 || true",
        "    pre-down route del default gw 10.137.1.1 || true",
        "",
        "auto if1",
        "iface if1 inet static",
        "    address 10.137.0.1/24",
        "",
        "# control-alias if1",
        "iface if1 inet static",
        "    address 10.138.0.1/24",
        "",
      ].join("\n"),
    );
  }, 120_000);

  it("renders workstation.yaml's PCI-uplink sys-net: only the renamed client side, static; the uplink is left to bulkhead's DHCP files", async () => {
    const c = byName("workstation.yaml", "sys-net");
    expect(c.guest.provider?.pciUplink).toBe(true);
    const files = await netConvert(await mkdtemp(join(dir, "eni-")), c.networkConfig, "eni");
    expect(files).toEqual({
      "/etc/network/interfaces.d/50-cloud-init": [
        ...ENI_HEADER,
        "",
        `auto ${CLIENT_IFNAME}`,
        `iface ${CLIENT_IFNAME} inet static`,
        "    address 10.137.1.1/24",
        "",
        `# control-alias ${CLIENT_IFNAME}`,
        `iface ${CLIENT_IFNAME} inet static`,
        "    address 10.138.1.1/24",
        "",
      ].join("\n"),
      "/etc/udev/rules.d/70-persistent-net.rules": `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="${c.guest.nics[0].iface.mac.address}", NAME="${CLIENT_IFNAME}"\n`,
    });
  }, 120_000);
});
