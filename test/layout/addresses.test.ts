import { describe, expect, it } from "vitest";
import { assignAddresses, fnv1a32, hostNumbers, macFor, uniqueMacs, type AddressInput } from "../../layout/addresses";

const dns = ["10.139.1.1", "10.139.1.2"];

describe("fnv1a32", () => {
  it("matches the reference vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("work")).toBe(0x5b98d260);
  });
});

describe("macFor", () => {
  it("is QEMU's prefix and the first three bytes of sha256", () => {
    expect(macFor("work")).toBe("52:54:00:00:e1:3e");
    expect(macFor("sys-net:clients")).toBe("52:54:00:d8:86:d1");
  });
});

describe("hostNumbers", () => {
  it("uses 2 + hash mod 253", () => {
    expect(hostNumbers(["work", "personal"])).toEqual(new Map([["personal", 125], ["work", 252]]));
  });
  it("moves the later name (by name order) up past a taken number", () => {
    // qaba and work both hash to 252.
    expect(hostNumbers(["work", "qaba"])).toEqual(new Map([["qaba", 252], ["work", 253]]));
  });
  it("wraps from 254 to 2", () => {
    // qabu and qacy both hash to 254.
    expect(hostNumbers(["qacy", "qabu"])).toEqual(new Map([["qabu", 254], ["qacy", 2]]));
  });
  it("lets a newcomer move only the qube it collides with, never one holding its own number", () => {
    // work and qaba hash to 252, xanc to 253: qaba takes 252 (first by name), work moves, xanc stays.
    expect(hostNumbers(["work", "xanc"])).toEqual(new Map([["work", 252], ["xanc", 253]]));
    expect(hostNumbers(["work", "xanc", "qaba"])).toEqual(new Map([["qaba", 252], ["xanc", 253], ["work", 254]]));
  });
  it("fills all 253 numbers without repeating one", () => {
    const names = Array.from({ length: 253 }, (_, i) => `q${i}`);
    const numbers = [...hostNumbers(names).values()].sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 253 }, (_, i) => i + 2));
  });
});

describe("uniqueMacs", () => {
  it("keeps sha256's pick and moves the later of two that collide to the next free MAC", () => {
    // q398 and q10102 share the first three bytes of their sha256 (ba c6 0e).
    expect(macFor("q398")).toBe(macFor("q10102"));
    expect(uniqueMacs(["q398", "q10102", "work"])).toEqual(
      new Map([
        ["q10102", "52:54:00:ba:c6:0e"],
        ["q398", "52:54:00:ba:c6:0f"],
        ["work", "52:54:00:00:e1:3e"],
      ]),
    );
  });
});

describe("assignAddresses gives every interface of a layout its own MAC", () => {
  it("two clients of one ProxyVM whose hashes collide", () => {
    const plan = assignAddresses("", [
      { name: "sys-net", class: "NetVM", netvm: null, uplink: true },
      { name: "sys-firewall", class: "ProxyVM", netvm: "sys-net" },
      { name: "q398", class: "AppVM", netvm: "sys-firewall" },
      { name: "q10102", class: "AppVM", netvm: "sys-firewall" },
      { name: "debian-12", class: "TemplateVM", netvm: "sys-firewall" },
    ]);
    expect(plan.addressing.get("q10102")?.mac).toBe("52:54:00:ba:c6:0e");
    expect(plan.addressing.get("q398")?.mac).toBe("52:54:00:ba:c6:0f");
    const macs = [
      ...[...plan.addressing.values()].map((a) => a.mac),
      ...[...plan.provides.values()].map((p) => p.mac),
      ...plan.uplinkMacs.values(),
    ];
    expect(macs.length).toBe(7);
    expect(new Set(macs).size).toBe(7);
    const ips = [...plan.addressing.values()].map((a) => a.ip);
    expect(new Set(ips).size).toBe(ips.length);
    expect(plan.addressing.get("debian-12")?.gateway).toBe("10.137.0.1");
  });
});

const small: AddressInput[] = [
  { name: "sys-net", class: "NetVM", netvm: null },
  { name: "sys-firewall", class: "ProxyVM", netvm: "sys-net" },
  { name: "work", class: "AppVM", netvm: "sys-firewall" },
  { name: "personal", class: "AppVM", netvm: "sys-firewall" },
  { name: "vault", class: "AppVM", netvm: null },
  { name: "untrusted", class: "DispVM", netvm: "sys-firewall" },
];

describe("assignAddresses", () => {
  it("numbers providers by name and clients by hash", () => {
    const plan = assignAddresses("", small);
    expect(plan.problems).toEqual([]);
    expect(plan.provides).toEqual(
      new Map([
        [
          "sys-firewall",
          {
            network: "sys-firewall-clients",
            subnet: "10.137.0.0/24",
            gateway: "10.137.0.1",
            dispvmSubnet: "10.138.0.0/24",
            dispvmGateway: "10.138.0.1",
            mac: "52:54:00:e1:9f:69",
          },
        ],
        [
          "sys-net",
          {
            network: "sys-net-clients",
            subnet: "10.137.1.0/24",
            gateway: "10.137.1.1",
            dispvmSubnet: "10.138.1.0/24",
            dispvmGateway: "10.138.1.1",
            mac: "52:54:00:d8:86:d1",
          },
        ],
      ]),
    );
    expect(plan.addressing.get("work")).toEqual({
      ip: "10.137.0.252",
      prefix: 24,
      gateway: "10.137.0.1",
      dns,
      mac: "52:54:00:00:e1:3e",
    });
    expect(plan.addressing.get("personal")?.ip).toBe("10.137.0.125");
    expect(plan.addressing.get("sys-firewall")?.ip).toBe("10.137.1.25");
    expect(plan.addressing.get("untrusted")).toEqual({
      ip: "10.138.0.202",
      prefix: 24,
      gateway: "10.138.0.1",
      dns,
      mac: macFor("untrusted"),
    });
    expect(plan.addressing.has("vault")).toBe(false);
    expect(plan.addressing.has("sys-net")).toBe(false);
  });

  it("applies the prefix to network names and MACs", () => {
    const plan = assignAddresses("dev-", small);
    expect(plan.provides.get("sys-net")?.network).toBe("dev-sys-net-clients");
    expect(plan.provides.get("sys-net")?.mac).toBe("52:54:00:85:73:71");
    expect(plan.addressing.get("sys-firewall")?.mac).toBe("52:54:00:b7:06:d2");
    expect(plan.addressing.get("sys-firewall")?.ip).toBe("10.137.1.25");
  });

  it("keeps existing addresses when an unrelated qube is added", () => {
    const before = assignAddresses("", small);
    const after = assignAddresses("", [...small, { name: "mail", class: "AppVM", netvm: "sys-firewall" }]);
    for (const [name, addressing] of before.addressing) expect(after.addressing.get(name)).toEqual(addressing);
    expect(after.provides).toEqual(before.provides);
    expect(after.addressing.get("mail")?.ip).toBe("10.137.0.54");
  });

  it("refuses more than 253 clients in one subnet", () => {
    const clients = Array.from({ length: 254 }, (_, i): AddressInput => ({ name: `q${i}`, class: "AppVM", netvm: "sys-net" }));
    const plan = assignAddresses("", [{ name: "sys-net", class: "NetVM", netvm: null }, ...clients]);
    expect(plan.problems).toEqual([
      {
        qube: "sys-net",
        message: "254 qubes use sys-net as netvm; at most 253 fit in 10.137.0.0/24: move some behind another ProxyVM",
      },
    ]);
  });

  it("refuses more than 256 providers", () => {
    const providers = Array.from({ length: 257 }, (_, i): AddressInput => ({ name: `p${String(i).padStart(3, "0")}`, class: "ProxyVM", netvm: null }));
    expect(assignAddresses("", providers).problems).toEqual([
      { qube: "p256", message: "257 qubes provide network (NetVM, ProxyVM); at most 256 fit in 10.137.0.0/16" },
    ]);
  });
});
