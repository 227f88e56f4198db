import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { loadLayout, parseLayout } from "../../layout/load";
import { layoutIssues } from "./helpers";

const root = path.join(__dirname, "../..");
const NOW = 1_700_000_000;
const parse = (text: string) => parseLayout(text, "test.yaml", { now: NOW });
const issues = (text: string) => layoutIssues(() => parse(text));
const dns = ["10.139.1.1", "10.139.1.2"];
const noDevices = { pci: [], usb: [] };

const base = `version: 1
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
defaults: { template: debian-12, netvm: sys-firewall }
qubes:
  sys-net: { class: NetVM, uplink: { bridge: br0 } }
  sys-firewall: { class: ProxyVM, netvm: sys-net }
`;

describe("stacks/dev.yaml", () => {
  const layout = loadLayout(path.join(root, "stacks/dev.yaml"), { now: NOW });

  it("has the lab host and template", () => {
    expect(layout.host).toEqual({
      uri: "qemu:///system",
      domainType: "qemu",
      pool: "bulkhead-dev",
      poolPath: "/var/lib/libvirt/bulkhead-dev",
      prefix: "dev-",
      images: ["/var/lib/bulkhead-lab/images"],
      memory: 3072,
    });
    expect(layout.templates).toEqual([
      {
        name: "lab",
        image: "/var/lib/bulkhead-lab/images/root.img",
        format: "raw",
        boot: {
          kernel: "/var/lib/bulkhead-lab/images/vmlinuz",
          initrd: "/var/lib/bulkhead-lab/images/initrd.img",
          cmdline: "console=ttyS0 panic=-1",
        },
        memory: 160,
        vcpus: 2,
        label: "black",
        netvm: null,
        guestAgent: true,
      },
    ]);
  });

  it("orders qubes after their netvm and DispVM template", () => {
    expect(layout.qubes.map((q) => q.name)).toEqual([
      "sys-net",
      "vault",
      "sys-firewall",
      "dvm",
      "personal",
      "work",
      "untrusted",
    ]);
  });

  it("resolves sys-net, work and untrusted exactly", () => {
    const byName = new Map(layout.qubes.map((q) => [q.name, q]));
    expect(byName.get("sys-net")).toEqual({
      name: "sys-net",
      class: "NetVM",
      template: "lab",
      rootTemplate: "lab",
      netvm: null,
      label: "red",
      memory: 160,
      vcpus: 1,
      autostart: true,
      privateBytes: 2 * 1024 ** 3,
      templateForDispvms: false,
      firewall: [],
      uplink: { kind: "network", network: "bulkhead-lab-uplink" },
      uplinkMac: "52:54:00:25:48:50",
      devices: noDevices,
      provides: {
        network: "dev-sys-net-clients",
        subnet: "10.137.1.0/24",
        gateway: "10.137.1.1",
        dispvmSubnet: "10.138.1.0/24",
        dispvmGateway: "10.138.1.1",
        mac: "52:54:00:85:73:71",
      },
    });
    expect(byName.get("work")).toEqual({
      name: "work",
      class: "AppVM",
      template: "lab",
      rootTemplate: "lab",
      netvm: "sys-firewall",
      label: "blue",
      memory: 160,
      vcpus: 1,
      autostart: false,
      privateBytes: 2 * 1024 ** 3,
      templateForDispvms: false,
      firewall: [
        { action: "accept", specialtarget: "dns" },
        { action: "accept", proto: "tcp", dstports: { start: 80, end: 80 } },
        { action: "accept", proto: "icmp", icmptype: 8 },
      ],
      devices: noDevices,
      addressing: { ip: "10.137.0.252", prefix: 24, gateway: "10.137.0.1", dns, mac: "52:54:00:89:e8:da" },
    });
    const untrusted = byName.get("untrusted");
    expect(untrusted?.template).toBe("dvm");
    expect(untrusted?.rootTemplate).toBe("lab");
    expect(untrusted?.privateBytes).toBeUndefined();
    expect(untrusted?.addressing?.ip).toBe("10.138.0.202");
    expect(untrusted?.addressing?.gateway).toBe("10.138.0.1");
    expect(byName.get("personal")?.firewall).toEqual([{ action: "accept" }]);
    expect(byName.get("vault")?.addressing).toBeUndefined();
    expect(byName.get("vault")?.firewall).toEqual([]);
    expect(byName.get("dvm")?.templateForDispvms).toBe(true);
  });
});

describe("stacks/workstation.yaml", () => {
  it("loads with PCI passthrough and the UsbVM offline", () => {
    const layout = loadLayout(path.join(root, "stacks/workstation.yaml"), { now: NOW });
    const byName = new Map(layout.qubes.map((q) => [q.name, q]));
    expect(byName.get("sys-net")?.uplink).toEqual({ kind: "pci", addresses: ["0000:03:00.0"] });
    expect(byName.get("sys-usb")?.devices).toEqual({ pci: ["0000:00:14.0"], usb: [] });
    expect(byName.get("sys-usb")?.netvm).toBeNull();
    expect(byName.get("sys-usb")?.autostart).toBe(true);
    expect(byName.get("untrusted")?.rootTemplate).toBe("debian-12");
    expect(layout.host.memory).toBe(16384);
    expect(layout.host.domainType).toBe("kvm");
  });
});

describe("defaults", () => {
  it("applies host, class and qube defaults", () => {
    const layout = parse(`version: 1
templates:
  t: { image: /var/lib/libvirt/images/t.qcow2 }
qubes:
  vault: { class: AppVM, template: t }
  sys-usb: { class: UsbVM, template: t }
`);
    expect(layout.host).toEqual({
      uri: "qemu:///system",
      domainType: "kvm",
      pool: "bulkhead",
      poolPath: "/var/lib/libvirt/bulkhead",
      prefix: "",
      images: ["/var/lib/libvirt/images"],
    });
    expect(layout.templates[0]).toEqual({
      name: "t",
      image: "/var/lib/libvirt/images/t.qcow2",
      format: "qcow2",
      memory: 1024,
      vcpus: 2,
      label: "black",
      netvm: null,
    });
    expect(layout.qubes).toEqual([
      {
        name: "sys-usb",
        class: "UsbVM",
        template: "t",
        rootTemplate: "t",
        netvm: null,
        label: "gray",
        memory: 400,
        vcpus: 2,
        autostart: true,
        privateBytes: 2 * 1024 ** 3,
        templateForDispvms: false,
        firewall: [],
        devices: noDevices,
      },
      {
        name: "vault",
        class: "AppVM",
        template: "t",
        rootTemplate: "t",
        netvm: null,
        label: "gray",
        memory: 400,
        vcpus: 2,
        autostart: false,
        privateBytes: 2 * 1024 ** 3,
        templateForDispvms: false,
        firewall: [],
        devices: noDevices,
      },
    ]);
  });

  it("takes label, memory and vcpus from the defaults block", () => {
    const layout = parse(base.replace("netvm: sys-firewall }", "netvm: sys-firewall, label: purple, memory: 512, vcpus: 1 }") + "  work: { class: AppVM }\n");
    const work = layout.qubes.find((q) => q.name === "work");
    expect([work?.label, work?.memory, work?.vcpus, work?.netvm]).toEqual(["purple", 512, 1, "sys-firewall"]);
  });

  it("does not give a NetVM the default netvm", () => {
    expect(parse(base).qubes.find((q) => q.name === "sys-net")?.netvm).toBeNull();
  });

  it("defaults a display's listen address to loopback", () => {
    const layout = parse(base + "  work: { class: AppVM, display: { type: spice } }\n  p: { class: AppVM, display: none }\n");
    expect(layout.qubes.find((q) => q.name === "work")?.display).toEqual({ type: "spice", listen: "127.0.0.1" });
    expect(layout.qubes.find((q) => q.name === "p")?.display).toBeUndefined();
  });
});

describe("firewall", () => {
  it("drops expired rules and keeps the others in order", () => {
    const layout = parse(
      base +
        `  work:
    class: AppVM
    firewall:
      - { action: accept, dsthost: 10.0.0.1, expire: ${NOW} }
      - { action: accept, dsthost: 10.0.0.2, expire: ${NOW + 1} }
      - { action: drop, comment: rest }
`,
    );
    expect(layout.qubes.find((q) => q.name === "work")?.firewall).toEqual([
      { action: "accept", dsthost: "10.0.0.2/32", expire: NOW + 1 },
      { action: "drop", comment: "rest" },
    ]);
  });

  it("takes numbers written as strings, +N expiries, port 0, names and dns narrowed to one proto, as Qubes does", () => {
    const layout = parse(
      base +
        `  work:
    class: AppVM
    firewall:
      - { action: accept, proto: icmp, icmptype: "8" }
      - { action: accept, proto: tcp, dstports: "443", expire: "${NOW + 5}" }
      - { action: accept, proto: udp, dstports: 0-65535, expire: "+60" }
      - { action: accept, specialtarget: dns, proto: udp }
      - { action: accept, dsthost: Updates.Example.ORG. }
`,
    );
    expect(layout.qubes.find((q) => q.name === "work")?.firewall).toEqual([
      { action: "accept", proto: "icmp", icmptype: 8 },
      { action: "accept", proto: "tcp", dstports: { start: 443, end: 443 }, expire: NOW + 5 },
      { action: "accept", proto: "udp", dstports: { start: 0, end: 65535 }, expire: NOW + 60 },
      { action: "accept", proto: "udp", specialtarget: "dns" },
      { action: "accept", dsthost: "updates.example.org" },
    ]);
  });

  it("refuses dns with icmp, and a URL in dsthost with what is wrong", () => {
    expect(
      issues(base + "  work:\n    class: AppVM\n    firewall:\n      - { action: accept, specialtarget: dns, proto: icmp }\n      - { action: accept, dsthost: \"https://example.com:443/\" }\n"),
    ).toEqual([
      {
        path: "qubes.work.firewall.0.specialtarget",
        line: 11,
        message:
          "specialtarget dns already means the qube's DNS servers on port 53 (tcp and udp, or the one proto names); remove proto: icmp (or write a separate rule)",
      },
      {
        path: "qubes.work.firewall.1.dsthost",
        line: 12,
        message:
          '"https://example.com:443/" is a URL; dsthost takes only an address, a CIDR or a host name (the host part is "example.com"): write the port as dstports and the protocol as proto',
      },
    ]);
  });

  it("takes thousands of rules (no 90-rule limit) and refuses more action changes than priorities", () => {
    const rules = (n: number, alternate: boolean) =>
      Array.from({ length: n }, (_, i) => `      - { action: ${alternate && i % 2 === 1 ? "drop" : "accept"}, proto: tcp, dstports: ${i} }\n`).join("");
    const many = parse(base + "  work:\n    class: AppVM\n    firewall:\n" + rules(5000, false));
    expect(many.qubes.find((q) => q.name === "work")?.firewall).toHaveLength(5000);
    expect(issues(base + "  work:\n    class: AppVM\n    firewall:\n" + rules(2001, true))).toEqual([
      {
        path: "qubes.work.firewall",
        line: 10,
        message:
          "the rules switch between accept and drop 2000 times; libvirt's filter priorities (-1000..1000) hold at most 2000 runs of rules with the same action: group accept rules together",
      },
    ]);
  });

  it("limits a comment to what libvirt keeps", () => {
    expect(issues(base + `  work: { class: AppVM, firewall: [{ action: accept, comment: "${"x".repeat(201)}" }] }\n`)).toEqual([
      {
        path: "qubes.work.firewall.0.comment",
        line: 8,
        message: "must be at most 200 characters (libvirt keeps 256 per rule, and bulkhead adds the expiry)",
      },
    ]);
  });
});

describe("Qubes properties", () => {
  it("maxmem: 0 means no memory balancing, even below memory", () => {
    const layout = parse(base + "  work: { class: AppVM, memory: 2048, maxmem: 0 }\n");
    expect(layout.qubes.find((q) => q.name === "work")).toMatchObject({ memory: 2048, maxmem: 0 });
  });

  it("a DispVM takes netvm, label, memory, maxmem, vcpus and firewall from its disposable template", () => {
    const layout = parse(
      base +
        `  vault: { class: AppVM, netvm: null }
  dvm:
    class: AppVM
    netvm: sys-net
    label: red
    memory: 800
    maxmem: 1600
    vcpus: 1
    template_for_dispvms: true
    firewall: [{ action: accept, proto: tcp, dstports: 443 }]
  offline-dvm: { class: AppVM, netvm: null, label: black, template_for_dispvms: true }
  disp1: { class: DispVM, template: dvm }
  disp2: { class: DispVM, template: offline-dvm }
  disp3: { class: DispVM, template: dvm, netvm: sys-firewall, label: green, memory: 500, firewall: [] }
`,
    );
    const q = (name: string) => layout.qubes.find((x) => x.name === name);
    expect(q("disp1")).toMatchObject({
      netvm: "sys-net",
      label: "red",
      memory: 800,
      maxmem: 1600,
      vcpus: 1,
      firewall: [{ action: "accept", proto: "tcp", dstports: { start: 443, end: 443 } }],
    });
    // An offline disposable template's DispVMs are offline too (not defaults.netvm).
    expect(q("disp2")).toMatchObject({ netvm: null, label: "black", firewall: [] });
    expect(q("disp2")?.addressing).toBeUndefined();
    expect(q("disp3")).toMatchObject({ netvm: "sys-firewall", label: "green", memory: 500, maxmem: 1600, vcpus: 1, firewall: [] });
  });

  it("kernelopts on a qube whose template has no boot is an error", () => {
    expect(issues(base + "  work: { class: AppVM, kernelopts: quiet }\n")).toEqual([
      {
        path: "qubes.work.kernelopts",
        line: 8,
        message:
          'template "debian-12" has no boot: (the qube boots the kernel inside its image), so nothing would read kernelopts; remove kernelopts or give the template boot: { kernel, initrd, cmdline }',
      },
    ]);
  });
});

describe("isolation problems are left to the policy pack", () => {
  it("keeps PCI and USB on an AppVM, a template netvm and an AppVM on the NetVM", () => {
    const layout = loadLayout(path.join(root, "test/fixtures/valid/violations.yaml"), { now: NOW });
    const byName = new Map(layout.qubes.map((q) => [q.name, q]));
    expect(layout.templates[0].netvm).toBe("sys-firewall");
    expect(byName.get("work")?.devices).toEqual({ pci: ["0000:00:14.0"], usb: [] });
    expect(byName.get("work")?.netvm).toBe("sys-net");
    expect(byName.get("work")?.addressing?.gateway).toBe("10.137.1.1");
    expect(byName.get("personal")?.devices.usb).toEqual([{ vendor: "046d", product: "c52b" }]);
    expect(byName.get("sys-usb")?.netvm).toBe("sys-firewall");
    expect(byName.get("shared")?.display).toEqual({ type: "vnc", listen: "0.0.0.0" });
  });
});

describe("every key", () => {
  const layout = loadLayout(path.join(root, "test/fixtures/valid/every-key.yaml"), { now: NOW });
  const byName = new Map(layout.qubes.map((q) => [q.name, q]));

  it("resolves host, templates and uplinks", () => {
    expect(layout.host).toEqual({
      uri: "qemu+ssh://admin@lab1/system",
      domainType: "kvm",
      pool: "qubes",
      poolPath: "/srv/qubes",
      prefix: "t-",
      images: ["/srv/images", "/images"],
      memory: 8192,
    });
    expect(layout.templates.map((t) => t.name)).toEqual(["fedora", "kernel-boot"]);
    expect(byName.get("sys-net")?.uplink).toEqual({ kind: "macvtap", dev: "enp3s0" });
    expect(byName.get("sys-net")?.devices.pci).toEqual(["0000:3a:00.1"]);
    expect(byName.get("sys-firewall")?.autostart).toBe(false);
    expect(byName.get("sys-firewall")?.provides?.network).toBe("t-sys-firewall-clients");
  });

  it("resolves an AppVM with every key", () => {
    expect(byName.get("work")).toMatchObject({
      template: "kernel-boot",
      label: "blue",
      memory: 1024,
      maxmem: 4096,
      vcpus: 2,
      autostart: true,
      privateBytes: 536870912,
      display: { type: "spice", listen: "127.0.0.1" },
      kernelopts: "quiet",
      firewall: [
        { action: "accept", specialtarget: "dns", comment: "resolvers" },
        { action: "accept", dsthost: "192.168.1.0/24", proto: "tcp", dstports: { start: 8000, end: 8080 } },
        { action: "accept", dsthost: "2001:db8::1:0:0:1/128", proto: "udp", dstports: { start: 53, end: 53 } },
        { action: "accept", proto: "icmp", icmptype: 8 },
        { action: "accept", dsthost: "10.1.2.3/32" },
        { action: "drop" },
      ],
    });
    expect(byName.get("standalone")?.privateBytes).toBe(10 * 1024 ** 3);
    expect(byName.get("untrusted")?.display).toEqual({ type: "vnc", listen: "::1" });
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb5bulkheadtestkeyonly00000000000000000000 alice@laptop";
    expect(byName.get("work")?.cloudInit).toEqual({
      users: [
        {
          name: "alice",
          password_hash: "$y$j9T$bulkheadsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDE",
          ssh_authorized_keys: [key],
          groups: ["sudo", "adm"],
          sudo: false,
          shell: "/bin/bash",
        },
      ],
      ssh_authorized_keys: [key],
      packages: ["git", "curl"],
      write_files: [{ path: "/home/alice/.bashrc", content: "set -o vi\n", permissions: "0644", owner: "alice:alice", append: true }],
      runcmd: ["echo hello >/home/alice/hello", ["touch", "/home/alice/ok"]],
    });
    expect(byName.get("sys-firewall")?.cloudInit?.users).toEqual([{ name: "ops", groups: ["adm"] }]);
    expect([byName.get("dvm")?.renamedFrom, byName.get("untrusted")?.templateStorage]).toEqual([["dvm-old", "dvm-older"], "dvm-old"]);
    expect([byName.get("standalone")?.renamedFrom, byName.get("standalone")?.discardData, byName.get("work")?.discardData]).toEqual([["legacy"], true, undefined]);
  });
});

describe("error collection", () => {
  it("reports every schema issue at once, sorted by line", () => {
    expect(
      issues(`version: 1
templates:
  t: { image: /var/lib/libvirt/images/t.qcow2, fromat: raw }
qubes:
  a: { class: AppVM, template: t, labl: red }
  b: { class: AppVM, template: t, memory: -1 }
`),
    ).toEqual([
      { path: "templates.t.fromat", line: 3, message: 'unknown key "fromat"; did you mean "format"?' },
      { path: "qubes.a.labl", line: 5, message: 'unknown key "labl"; did you mean "label"?' },
      { path: "qubes.b.memory", line: 6, message: "must be a whole number of MiB from 1 to 1048576, not -1" },
    ]);
  });

  it("reports every cross-reference issue at once", () => {
    expect(
      issues(
        base +
          `  work:
    class: AppVM
    netvm: sys-nett
  dvm: { class: ProxyVM, netvm: sys-net, template_for_dispvms: true }
`,
      ),
    ).toEqual([
      { path: "qubes.work.netvm", line: 10, message: '"sys-nett" is not a qube; did you mean "sys-net"?' },
      {
        path: "qubes.dvm.template_for_dispvms",
        line: 11,
        message: "template_for_dispvms applies only to an AppVM, not a ProxyVM; remove it",
      },
    ]);
  });

  it("lists unknown keys with the allowed ones when none is close", () => {
    expect(issues(base.replace("version: 1\n", "version: 1\nzzz: 1\n"))).toEqual([
      {
        path: "zzz",
        line: 2,
        message: 'unknown key "zzz"; allowed here: version, host, defaults, templates, qubes',
      },
    ]);
  });

  it("names the LayoutError lines in its message", () => {
    expect(() => parse(base + "  work: { class: AppVM, netvm: sys-nett }\n")).toThrow(
      'qubes.work.netvm (line 8): "sys-nett" is not a qube; did you mean "sys-net"?',
    );
  });

  it("reports a cycle once, from its smallest name", () => {
    expect(
      issues(
        base +
          "  c: { class: ProxyVM, netvm: a }\n  a: { class: ProxyVM, netvm: b }\n  b: { class: ProxyVM, netvm: c }\n",
      ),
    ).toEqual([
      {
        path: "qubes.a.netvm",
        line: 9,
        message: "netvm loop: a -> b -> c -> a; give one of them a netvm outside the loop (every chain ends at a NetVM)",
      },
    ]);
  });

  it("reports a bad defaults.netvm once, not in every qube", () => {
    expect(issues(base.replace("netvm: sys-firewall }", "netvm: nowhere }") + "  a: { class: AppVM }\n  b: { class: AppVM }\n")).toEqual([
      { path: "defaults.netvm", line: 4, message: '"nowhere" is not a qube' },
    ]);
  });
});

describe("hostile input", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bulkhead-layout-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("refuses a file over 1 MiB before parsing it", () => {
    const file = path.join(tmp, "big.yaml");
    fs.writeFileSync(file, `version: 1\n# ${"x".repeat(1024 * 1024)}\n`);
    expect(layoutIssues(() => loadLayout(file))).toEqual([
      { path: "", message: "the file is 1048590 bytes; a layout may be at most 1048576 bytes (1 MiB)" },
    ]);
  });

  it("reports a missing file or a directory with path \"\"", () => {
    expect(layoutIssues(() => loadLayout(path.join(tmp, "nope.yaml")))).toEqual([
      { path: "", message: `cannot read ${JSON.stringify(path.join(tmp, "nope.yaml"))}: no such file` },
    ]);
    expect(layoutIssues(() => loadLayout(tmp))).toEqual([
      { path: "", message: `cannot read ${JSON.stringify(tmp)}: not a regular file` },
    ]);
  });

  it("does not block on a FIFO", () => {
    const fifo = path.join(tmp, "fifo.yaml");
    execFileSync("mkfifo", [fifo]);
    expect(layoutIssues(() => loadLayout(fifo))).toEqual([
      { path: "", message: `cannot read ${JSON.stringify(fifo)}: not a regular file` },
    ]);
  });

  it("survives very deep flow nesting", () => {
    expect(issues(`version: 1\nx: ${"[".repeat(100000)}${"]".repeat(100000)}\n`)).toEqual([
      { path: "", line: 2, message: "the YAML nests too deeply; a layout needs fewer than 32 levels" },
    ]);
  });

  it("refuses more than 400,000 YAML tokens before parsing them, at the line where the count passes", () => {
    // `version: 1` is 3 tokens, `x: [` 3, each `1,` 2, the last `1]` 2: 2k + 8 in all.
    const flat = (k: number) => `version: 1\nx: [${"1,".repeat(k)}1]\n`;
    const tooMany = { path: "", line: 2, message: "the YAML holds more than 400000 tokens (keys, values and the indicators - : , [ ] { }); a layout needs far fewer" };
    expect(issues(flat(199_997))).toEqual([tooMany]);
    // Exactly 400,000: parsed, and refused by the schema instead.
    expect(issues(flat(199_996))).not.toContainEqual(tooMany);
    expect(issues(`version: 1\n${"#\n".repeat(300_000)}x: [${"[".repeat(400_000)}\n`)).toEqual([{ ...tooMany, line: 300_002 }]);
  });

  it("reports a file of a hundred thousand syntax errors as its distinct ones", () => {
    expect(issues(`version: 1\nx: []${"]".repeat(100_000)}\ny: ]\n`)).toEqual([
      { path: "", line: 2, message: 'YAML syntax: Unexpected flow-seq-end token in YAML stream: "]"' },
      { path: "", line: 3, message: 'YAML syntax: Unexpected scalar token in YAML stream: "y"' },
      { path: "", line: 3, message: 'YAML syntax: Unexpected map-value-ind token in YAML stream: ":"' },
      { path: "", line: 3, message: 'YAML syntax: Unexpected flow-seq-end token in YAML stream: "]"' },
    ]);
  });

  it("refuses a __proto__ key instead of dropping it", () => {
    expect(issues(base + "  __proto__: { class: AppVM }\n")).toEqual([
      { path: "", line: 8, message: 'the key "__proto__" is not allowed' },
    ]);
  });

  it("refuses a scalar document", () => {
    expect(issues("just text\n")).toEqual([
      { path: "", line: 1, message: "the document is a single value; a layout is a mapping with version, templates and qubes" },
    ]);
  });

  it("reports unknown YAML tags", () => {
    expect(issues(base + "  work: { class: !evil AppVM }\n")).toEqual([
      { path: "", line: 8, message: "YAML syntax: Unresolved tag: !evil" },
    ]);
  });

  it("refuses control characters in free text", () => {
    expect(issues(base + '  work: { class: AppVM, kernelopts: "quiet\\u0007" }\n')).toEqual([
      { path: "qubes.work.kernelopts", line: 8, message: "must not contain control characters or line breaks" },
    ]);
  });
});

describe("hostile input at scale", () => {
  it("reports 20000 bad references without quadratic work", () => {
    const lines = Array.from({ length: 20000 }, (_, i) => `  q${i}: { class: AppVM, netvm: zz${i} }\n`);
    const found = issues(base + lines.join(""));
    expect(found).toHaveLength(20000);
    expect(found[19999]).toEqual({ path: "qubes.q19999.netvm", line: 20007, message: '"zz19999" is not a qube' });
  });

  it("keeps a long loop's message to one short line", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `  c${i}: { class: ProxyVM, netvm: c${(i + 1) % 100} }\n`);
    expect(issues(base + lines.join(""))).toEqual([
      {
        path: "qubes.c0.netvm",
        line: 8,
        message:
          "netvm loop: c0 -> c1 -> c2 -> c3 -> c4 -> c5 -> c6 -> c7 -> … (100 qubes) -> c0; give one of them a netvm outside the loop (every chain ends at a NetVM)",
      },
    ]);
  });
});
