import fc from "fast-check";
import { Document, parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CLIENT_IFNAME,
  ENV_PATH,
  PROVIDER_SCRIPT,
  PROVIDER_SCRIPT_PATH,
  RULESET_PATH,
  SeedShapes,
  type Slot,
  UPLINK_ENI,
  UPLINK_ENI_PATH,
  UPLINK_NETWORKD,
  UPLINK_NETWORKD_PATH,
  bulkheadEnv,
  networkConfig,
  providerRuleset,
  qubeSeed,
  templateSeed,
} from "../../components/seed";
import { debian, host, sysFirewall, sysNet, sysUsb, untrusted, vault, work } from "./fixtures";

const ruleset = readFileSync(join(__dirname, "..", "..", "components", "provider.nft"), "utf8");

describe("qubeSeed", () => {
  it("gives an AppVM a static address on its netvm's network, the on-link default route and the DNS pair", () => {
    expect(qubeSeed(host, work)).toEqual({
      metaData: "instance-id: work\nlocal-hostname: work\n",
      userData: [
        "#cloud-config",
        "",
        "hostname: work",
        "locale: C.UTF-8",
        "fs_setup:",
        "  - device: /dev/disk/by-id/virtio-private",
        "    partition: auto",
        "    filesystem: ext4",
        "    label: private",
        "    overwrite: false",
        "mounts:",
        "  - - /dev/disk/by-id/virtio-private",
        "    - /rw",
        "    - ext4",
        "    - defaults,nofail",
        '    - "0"',
        '    - "2"',
        "",
      ].join("\n"),
      networkConfig: [
        "version: 2",
        "ethernets:",
        "  if0:",
        "    match:",
        "      macaddress: 52:54:00:00:e1:3e",
        "    dhcp4: false",
        "    addresses:",
        "      - 10.137.1.2/24",
        "    routes:",
        "      - to: 0.0.0.0/0",
        "        via: 10.137.1.1",
        "        on-link: true",
        "    nameservers:",
        "      addresses:",
        "        - 10.139.1.1",
        "        - 10.139.1.2",
        "",
      ].join("\n"),
      files: {
        "bulkhead.env": [
          "QUBE=work",
          "CLASS=AppVM",
          "HOSTNAME=work",
          "IFACES=1",
          "IF0_MAC=52:54:00:00:e1:3e",
          "IF0_ADDRS=10.137.1.2/24",
          "IF0_DHCP=0",
          "GATEWAY=10.137.1.1",
          "DNS=10.139.1.1 10.139.1.2",
          "",
        ].join("\n"),
      },
    });
  });

  it("gives an offline qube no interface at all (empty ethernets: no fallback DHCP)", () => {
    const seed = qubeSeed(host, vault);
    expect(seed.networkConfig).toBe("version: 2\nethernets: {}\n");
    expect(seed.files).toEqual({ "bulkhead.env": "QUBE=vault\nCLASS=AppVM\nHOSTNAME=vault\nIFACES=0\nGATEWAY=\nDNS=\n" });
  });

  it("puts a DispVM on the DispVM subnet", () => {
    expect(qubeSeed(host, untrusted).files?.["bulkhead.env"]).toBe(
      "QUBE=untrusted\nCLASS=DispVM\nHOSTNAME=untrusted\nIFACES=1\nIF0_MAC=52:54:00:63:53:de\nIF0_ADDRS=10.138.1.2/24\nIF0_DHCP=0\nGATEWAY=10.138.1.1\nDNS=10.139.1.1 10.139.1.2\n",
    );
  });

  it("makes a ProxyVM forward, NAT out of its upstream and DNAT DNS to its own DNS pair", () => {
    const seed = qubeSeed(host, sysFirewall);
    const env = [
      "QUBE=sys-firewall",
      "CLASS=ProxyVM",
      "HOSTNAME=sys-firewall",
      "IFACES=2",
      "IF0_MAC=52:54:00:b2:f1:93",
      "IF0_ADDRS=10.137.0.2/24",
      "IF0_DHCP=0",
      "IF1_MAC=52:54:00:e1:9f:69",
      "IF1_ADDRS=10.137.1.1/24 10.138.1.1/24",
      "IF1_DHCP=0",
      "GATEWAY=10.137.0.1",
      "DNS=10.139.1.1 10.139.1.2",
      "FORWARD=1",
      "NAT_IF=0",
      "CLIENT_IF=1",
      "DNS_UPSTREAM=10.139.1.1 10.139.1.2",
      "",
    ].join("\n");
    expect(seed.files).toEqual({ "bulkhead.env": env, "provider.nft": ruleset });
    expect(seed.userData.startsWith("#cloud-config\n")).toBe(true);
    expect(parse(seed.userData)).toEqual({
      hostname: "sys-firewall",
      locale: "C.UTF-8",
      fs_setup: [{ device: "/dev/disk/by-id/virtio-private", partition: "auto", filesystem: "ext4", label: "private", overwrite: false }],
      mounts: [["/dev/disk/by-id/virtio-private", "/rw", "ext4", "defaults,nofail", "0", "2"]],
      write_files: [
        { path: ENV_PATH, permissions: "0644", content: env },
        { path: RULESET_PATH, permissions: "0644", content: ruleset },
        { path: PROVIDER_SCRIPT_PATH, permissions: "0755", content: PROVIDER_SCRIPT },
      ],
      runcmd: [[PROVIDER_SCRIPT_PATH]],
    });
    expect(parse(seed.networkConfig ?? "")).toEqual({
      version: 2,
      ethernets: {
        if0: {
          match: { macaddress: "52:54:00:b2:f1:93" },
          dhcp4: false,
          addresses: ["10.137.0.2/24"],
          routes: [{ to: "0.0.0.0/0", via: "10.137.0.1", "on-link": true }],
          nameservers: { addresses: ["10.139.1.1", "10.139.1.2"] },
        },
        if1: { match: { macaddress: "52:54:00:e1:9f:69" }, dhcp4: false, addresses: ["10.137.1.1/24", "10.138.1.1/24"] },
      },
    });
  });

  it("makes a NetVM take its uplink by DHCP and DNAT DNS to what DHCP gave", () => {
    const seed = qubeSeed(host, sysNet);
    expect(seed.files?.["bulkhead.env"]).toBe(
      [
        "QUBE=sys-net",
        "CLASS=NetVM",
        "HOSTNAME=sys-net",
        "IFACES=2",
        "IF0_MAC=52:54:00:26:73:ae",
        "IF0_ADDRS=",
        "IF0_DHCP=1",
        "IF1_MAC=52:54:00:d8:86:d1",
        "IF1_ADDRS=10.137.0.1/24 10.138.0.1/24",
        "IF1_DHCP=0",
        "GATEWAY=",
        "DNS=",
        "FORWARD=1",
        "NAT_IF=0",
        "CLIENT_IF=1",
        "DNS_UPSTREAM=dhcp",
        "",
      ].join("\n"),
    );
    expect(parse(seed.networkConfig ?? "")).toEqual({
      version: 2,
      ethernets: {
        if0: { match: { macaddress: "52:54:00:26:73:ae" }, dhcp4: true },
        if1: { match: { macaddress: "52:54:00:d8:86:d1" }, dhcp4: false, addresses: ["10.137.0.1/24", "10.138.0.1/24"] },
      },
    });
  });

  it("leaves NAT_IF empty for a PCI uplink, which is no domain interface, and takes every other ethernet by DHCP", () => {
    const pciNet = { ...sysNet, uplink: { kind: "pci" as const, addresses: ["0000:03:00.0"] }, devices: { pci: ["0000:03:00.0"], usb: [] } };
    const seed = qubeSeed(host, pciNet);
    const env = "QUBE=sys-net\nCLASS=NetVM\nHOSTNAME=sys-net\nIFACES=1\nIF0_MAC=52:54:00:d8:86:d1\nIF0_ADDRS=10.137.0.1/24 10.138.0.1/24\nIF0_DHCP=0\nGATEWAY=\nDNS=\nFORWARD=1\nNAT_IF=\nCLIENT_IF=0\nDNS_UPSTREAM=dhcp\n";
    expect(seed.files?.["bulkhead.env"]).toBe(env);
    // The client side stays static and is renamed, so the uplink files below never match it.
    expect(parse(seed.networkConfig ?? "")).toEqual({
      version: 2,
      ethernets: {
        if0: { match: { macaddress: "52:54:00:d8:86:d1" }, "set-name": CLIENT_IFNAME, dhcp4: false, addresses: ["10.137.0.1/24", "10.138.0.1/24"] },
      },
    });
    expect(parse(seed.userData).write_files).toEqual([
      { path: ENV_PATH, permissions: "0644", content: env },
      { path: RULESET_PATH, permissions: "0644", content: ruleset },
      { path: PROVIDER_SCRIPT_PATH, permissions: "0755", content: PROVIDER_SCRIPT },
      { path: UPLINK_ENI_PATH, permissions: "0644", content: UPLINK_ENI },
      { path: UPLINK_NETWORKD_PATH, permissions: "0644", content: UPLINK_NETWORKD },
    ]);
    expect(UPLINK_ENI).toBe("# Written by bulkhead: the PCI uplink (every ethernet but bhclients) by DHCP.\nauto /en*=bhuplink /eth*=bhuplink\niface bhuplink inet dhcp\n");
    expect(UPLINK_NETWORKD).toBe(
      "# Written by bulkhead: the PCI uplink (every ethernet but bhclients) by DHCP.\n[Match]\nType=ether\nName=!bhclients\n\n[Network]\nDHCP=ipv4\n",
    );
  });

  it("writes an offline UsbVM's seed without network", () => {
    expect(qubeSeed(host, sysUsb).files?.["bulkhead.env"]).toBe("QUBE=sys-usb\nCLASS=UsbVM\nHOSTNAME=sys-usb\nIFACES=0\nGATEWAY=\nDNS=\n");
  });
});

describe("templateSeed", () => {
  it("names the template and gives it no network", () => {
    expect(templateSeed(host, debian)).toEqual({
      metaData: "instance-id: debian-12\nlocal-hostname: debian-12\n",
      userData: "#cloud-config\n\nhostname: debian-12\nlocale: C.UTF-8\n",
      networkConfig: "version: 2\nethernets: {}\n",
      files: { "bulkhead.env": "QUBE=debian-12\nCLASS=TemplateVM\nHOSTNAME=debian-12\nIFACES=0\nGATEWAY=\nDNS=\n" },
    });
  });

  it("uses the prefixed domain name as instance-id", () => {
    expect(templateSeed({ ...host, prefix: "lab-" }, debian).metaData).toBe("instance-id: lab-debian-12\nlocal-hostname: debian-12\n");
  });
});

describe("YAML and env safety", () => {
  it("quotes a MAC that YAML 1.1 (cloud-init) would read as a base-60 number", () => {
    const nic = {
      role: "upstream" as const,
      iface: { type: "network" as const, source: { network: "n" }, mac: { address: "52:54:00:12:34:56" }, model: { type: "virtio" as const } },
      addrs: [],
      dhcp: true,
    };
    expect(networkConfig({ name: "q", class: "AppVM", nics: [nic], dns: [] })).toBe(
      'version: 2\nethernets:\n  if0:\n    match:\n      macaddress: "52:54:00:12:34:56"\n    dhcp4: true\n',
    );
  });

  it("refuses a value a shell would interpret", () => {
    expect(() => bulkheadEnv({ name: "a;reboot", class: "AppVM", nics: [], dns: [] })).toThrow(
      'bulkhead.env: unsafe value for QUBE: "a;reboot"',
    );
  });

  it("ships a provider script that loads the one ruleset unchanged, with its values as elements, then forwards", () => {
    expect(PROVIDER_SCRIPT.split("\n")).toEqual(
      expect.arrayContaining([
        `val() { sed -n "s/^$1=//p" ${ENV_PATH} | head -n 1; }`,
        `  cat ${RULESET_PATH}`,
        '  echo "add element inet bulkhead clients { \\"$client\\" }"',
        '  if [ $# -gt 0 ]; then echo "add element inet bulkhead dns { 10.139.1.1 : $1, 10.139.1.2 : ${2:-$1} }"; fi',
        "} | nft -f -",
        "echo 1 >/proc/sys/net/ipv4/ip_forward",
      ]),
    );
  });

  it("reads the ruleset byte for byte from components/provider.nft", () => {
    expect(providerRuleset()).toBe(ruleset);
    expect(ruleset.length).toBeGreaterThan(1000);
  });
});

describe("the layout's cloud_init in the user-data", () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb5bulkheadtestkeyonly00000000000000000000 alice@laptop";
  const settings = {
    users: [{ name: "alice", password_hash: "$y$j9T$salt$hash0123456789", ssh_authorized_keys: [key], groups: ["adm", "sudo"], sudo: true }],
    ssh_authorized_keys: [key],
    packages: ["git"],
    write_files: [{ path: "/home/alice/notes", content: "hi\n", permissions: "0600" }],
    runcmd: [["touch", "/home/alice/ok"], "echo done"],
  };

  it("puts a client's own settings in cloud-init's words: the default user kept, the hash unlocking console login, files deferred", () => {
    expect(qubeSeed(host, { ...work, cloudInit: settings }).userData).toBe(
      [
        "#cloud-config",
        "",
        "hostname: work",
        "locale: C.UTF-8",
        "fs_setup:",
        "  - device: /dev/disk/by-id/virtio-private",
        "    partition: auto",
        "    filesystem: ext4",
        "    label: private",
        "    overwrite: false",
        "mounts:",
        "  - - /dev/disk/by-id/virtio-private",
        "    - /rw",
        "    - ext4",
        "    - defaults,nofail",
        '    - "0"',
        '    - "2"',
        "users:",
        "  - default",
        "  - name: alice",
        "    groups: adm,sudo",
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    passwd: $y$j9T$salt$hash0123456789",
        "    lock_passwd: false",
        "    ssh_authorized_keys:",
        `      - ${key}`,
        "ssh_authorized_keys:",
        `  - ${key}`,
        "packages:",
        "  - git",
        "write_files:",
        "  - path: /home/alice/notes",
        "    content: |",
        "      hi",
        '    permissions: "0600"',
        "    defer: true",
        "runcmd:",
        "  - - touch",
        "    - /home/alice/ok",
        "  - echo done",
        "",
      ].join("\n"),
    );
  });

  it("on a provider, keeps bulkhead's files and its one runcmd last, after the person's accounts", () => {
    const ud = parse(qubeSeed(host, { ...sysFirewall, cloudInit: { ...settings, packages: [], write_files: [], runcmd: [] } }).userData);
    expect(Object.keys(ud)).toEqual(["hostname", "locale", "fs_setup", "mounts", "users", "ssh_authorized_keys", "write_files", "runcmd"]);
    expect(ud.write_files.map((f: { path: string }) => f.path)).toEqual([ENV_PATH, RULESET_PATH, PROVIDER_SCRIPT_PATH]);
    expect(ud.runcmd).toEqual([[PROVIDER_SCRIPT_PATH]]);
  });
});

describe("SeedShapes: each shape of seed document rendered once", () => {
  const yaml11 = (value: unknown) => stringify(value, { version: "1.1" });
  const doc = (name: string, mac: string, addrs: string[], extra: string) => ({
    hostname: name,
    match: { macaddress: mac },
    addresses: addrs,
    extra,
  });
  const build = (name: string, mac: string, addrs: string[], extra: string) => (slot: Slot) => doc(slot(name), slot(mac), addrs.map(slot), extra);

  it("renders thousands of qubes of one shape with one whole rendering", () => {
    let whole = 0;
    const shapes = new SeedShapes((v) => {
      whole++;
      return yaml11(v);
    });
    for (let i = 0; i < 2000; i++) {
      const mac = `52:54:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
      const text = shapes.render(build(`app${i}`, mac, [`10.137.${i >> 8}.${i & 255}/32`], "same"));
      if (i % 499 === 0) expect(text).toBe(yaml11(doc(`app${i}`, mac, [`10.137.${i >> 8}.${i & 255}/32`], "same")));
    }
    expect(whole).toBe(1);
  });

  it("gives the bytes of the whole rendering for any strings (YAML 1.1 look-alikes, quotes, placeholders)", () => {
    const tricky = fc.constantFrom(
      "yes", "no", "on", "off", "y", "n", "null", "~", "true", "1e3", "0x1F", "0o17", "010", "1_000", "12:30:00", "52:54:00:12:34:56",
      "2001-12-14", ".inf", "-", "a:", "a: b", "#x", "x #y", "bhslot0x", "bhslot1x", "bhslot9x", "", " x", "x ", "'q'", '"q"', "a\nb",
      "---x", "...", "%x", "x".repeat(45), `${"a".repeat(60)} ${"b".repeat(30)}`, "fd09::1/64", "::1", "10.137.0.1/24",
    );
    const value = fc.oneof(tricky, fc.string({ maxLength: 12 }), fc.stringMatching(/^[a-z0-9:./-]{1,50}$/));
    const shapes = new SeedShapes(yaml11);
    fc.assert(
      fc.property(value, value, fc.array(value, { maxLength: 3 }), value, (name, mac, addrs, extra) => {
        expect(shapes.render(build(name, mac, addrs, extra))).toBe(yaml11(doc(name, mac, addrs, extra)));
      }),
      { numRuns: 3000 },
    );
  });

  it("the user-data of a qube is the same text as the document rendered whole", () => {
    const seed = qubeSeed(host, work);
    const config = parse(seed.userData) as Record<string, unknown>;
    const whole = new Document(config, { version: "1.1" });
    whole.commentBefore = "cloud-config";
    expect(seed.userData).toBe(whole.toString({ lineWidth: 0, blockQuote: "literal" }));
  });
});
