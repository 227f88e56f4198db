import { describe, expect, it } from "vitest";
import {
  formatIPv6,
  parseDstHost,
  parseExpire,
  parseListen,
  parsePciAddress,
  parsePorts,
  parseSize,
  parseUsbId,
  parseWhole,
} from "../../layout/values";

const MiB = 1024 * 1024;

describe("parseSize", () => {
  it.each([
    ["2GiB", 2 * 1024 * MiB],
    ["512MiB", 512 * MiB],
    ["1TiB", 1024 * 1024 * MiB],
    ["2048KiB", 2 * MiB],
    ["1048576B", MiB],
    ["3145728", 3 * MiB],
    [5 * MiB, 5 * MiB],
  ])("%s is %d bytes", (input, bytes) => {
    expect(parseSize(input)).toEqual({ ok: true, value: bytes });
  });

  it.each([
    ["2GB", '"2GB" uses a decimal unit; write a size like "2GiB" or "512MiB", or a number of bytes (binary units KiB, MiB, GiB, TiB)'],
    ["lots", '"lots" is not a size; write a size like "2GiB" or "512MiB", or a number of bytes'],
    [1.5, '1.5 is not a whole number of bytes in range; write a size like "2GiB" or "512MiB", or a number of bytes'],
    [1e300, '1e+300 is not a whole number of bytes in range; write a size like "2GiB" or "512MiB", or a number of bytes'],
    ["1KiB", "1KiB is too small; a volume needs at least 1MiB"],
    [-5, "-5 is too small; a volume needs at least 1MiB"],
    [true, 'write a size like "2GiB" or "512MiB", or a number of bytes'],
  ])("%s is refused", (input, message) => {
    expect(parseSize(input)).toEqual({ ok: false, message });
  });
});

describe("parseWhole", () => {
  it("takes numbers and strings of digits, as Qubes does", () => {
    expect(parseWhole(8, 0, 255)).toEqual({ ok: true, value: 8 });
    expect(parseWhole("8", 0, 255)).toEqual({ ok: true, value: 8 });
    expect(parseWhole("256", 0, 255)).toEqual({ ok: false, message: 'must be a whole number from 0 to 255, not "256"' });
    expect(parseWhole("8.0", 0, 255)).toEqual({ ok: false, message: 'must be a whole number from 0 to 255, not "8.0"' });
    expect(parseWhole(1.5, 0, 255)).toEqual({ ok: false, message: "must be a whole number from 0 to 255, not 1.5" });
  });
});

describe("parseExpire", () => {
  it("takes epoch seconds as a number or a string, and +N", () => {
    expect(parseExpire(1463292452)).toEqual({ ok: true, value: { at: 1463292452 } });
    expect(parseExpire("1463292452")).toEqual({ ok: true, value: { at: 1463292452 } });
    expect(parseExpire("+3600")).toEqual({ ok: true, value: { after: 3600 } });
  });
  it("refuses anything else with the two spellings", () => {
    const hint = 'write epoch seconds (e.g. 1463292452) or "+N" for N seconds after the deploy (e.g. "+3600")';
    expect(parseExpire("tomorrow")).toEqual({ ok: false, message: `"tomorrow" is not an expiry; ${hint}` });
    expect(parseExpire("-5")).toEqual({ ok: false, message: `"-5" is not an expiry; ${hint}` });
    expect(parseExpire(-5)).toEqual({ ok: false, message: `-5 is not an expiry; ${hint}` });
  });
});

describe("parsePorts", () => {
  it.each([
    [443, { start: 443, end: 443 }],
    ["80", { start: 80, end: 80 }],
    ["8000-8080", { start: 8000, end: 8080 }],
    ["1-65535", { start: 1, end: 65535 }],
    [0, { start: 0, end: 0 }],
    ["0-65535", { start: 0, end: 65535 }],
  ])("%s", (input, range) => {
    expect(parsePorts(input)).toEqual({ ok: true, value: range });
  });

  const hint = 'write a port (0-65535) or a range "N-M" with N <= M';
  it.each([
    [65536, `port 65536 is out of range; ${hint}`],
    ["90-80", `range 90-80 runs backwards; ${hint}`],
    ["http", `"http" is not a port or port range; ${hint}`],
    [-1, `"-1" is not a port or port range; ${hint}`],
    [null, hint],
  ])("%s is refused", (input, message) => {
    expect(parsePorts(input)).toEqual({ ok: false, message });
  });
});

describe("parseDstHost", () => {
  it.each([
    ["10.1.2.3", "10.1.2.3/32"],
    ["192.168.1.77/24", "192.168.1.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.255.255.255/9", "10.128.0.0/9"],
    ["2001:DB8::1", "2001:db8::1/128"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128"],
    ["2001:db8:abcd:12ff::/48", "2001:db8:abcd::/48"],
    ["::", "::/128"],
    ["::ffff:10.0.0.1", "::ffff:a00:1/128"],
    ["fe80::1/10", "fe80::/10"],
    // Names are kept (lowercase, no root dot) and resolved at deploy time.
    ["example.com", "example.com"],
    ["Mail.Example.COM.", "mail.example.com"],
    ["localhost", "localhost"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ])("%s normalises to %s", (input, normal) => {
    expect(parseDstHost(input)).toEqual({ ok: true, value: normal });
  });

  const hint = "use an IPv4 or IPv6 address or CIDR (e.g. 192.168.1.0/24 or 2001:db8::/32) or a host name (e.g. example.com)";
  const url = "dsthost takes only an address, a CIDR or a host name";
  it.each([
    ["https://example.com/path", `"https://example.com/path" is a URL; ${url} (the host part is "example.com"): write the port as dstports and the protocol as proto`],
    ["http://10.0.0.1:8080", `"http://10.0.0.1:8080" is a URL; ${url} (the host part is "10.0.0.1"): write the port as dstports and the protocol as proto`],
    ["example.com/24", `"example.com/24" gives a host name a prefix length; write the name alone, or a CIDR`],
    ["-bad-.example", `"-bad-.example" is neither an address nor a host name; ${hint}`],
    [`${"a".repeat(64)}.example`, `"${"a".repeat(60)}" is neither an address nor a host name; ${hint}`],
    ["10.0.0.0/33", `prefix /33 is over 32 for an IPv4 address; ${hint}`],
    ["::/129", `prefix /129 is over 128 for an IPv6 address; ${hint}`],
    ["10.0.0.256", `"10.0.0.256" is neither an address nor a host name; ${hint}`],
    ["010.0.0.1", `"010.0.0.1" is neither an address nor a host name; ${hint}`],
    ["1:2:3:4:5:6:7:8:9", `"1:2:3:4:5:6:7:8:9" is neither an address nor a host name; ${hint}`],
    ["1::2::3", `"1::2::3" is neither an address nor a host name; ${hint}`],
    ["10.0.0.0/x", `"10.0.0.0/x" has a bad prefix length; ${hint}`],
    ["fe80::1%eth0", `"fe80::1%eth0" is neither an address nor a host name; ${hint}`],
    [42, hint],
  ])("%s is refused", (input, message) => {
    expect(parseDstHost(input)).toEqual({ ok: false, message });
  });
});

describe("formatIPv6", () => {
  it("compresses the longest zero run, the first on a tie", () => {
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe("2001:db8::1:0:0:1");
    expect(formatIPv6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])).toBe("2001:db8:0:1::1");
  });
  it("does not compress a single zero group", () => {
    expect(formatIPv6([1, 0, 2, 3, 4, 5, 6, 7])).toBe("1:0:2:3:4:5:6:7");
  });
});

describe("parseListen", () => {
  it("accepts addresses without a prefix", () => {
    expect(parseListen("127.0.0.1")).toEqual({ ok: true, value: "127.0.0.1" });
    expect(parseListen("0:0::1")).toEqual({ ok: true, value: "::1" });
  });
  it("refuses a CIDR", () => {
    expect(parseListen("127.0.0.1/8")).toEqual({
      ok: false,
      message: '"127.0.0.1/8" is not an IP address; use an IP address such as 127.0.0.1 or ::1',
    });
  });
});

describe("device ids", () => {
  it("normalises PCI addresses to lowercase", () => {
    expect(parsePciAddress("0000:3A:00.1")).toEqual({ ok: true, value: "0000:3a:00.1" });
  });
  it.each([
    ["03:00.0", '"03:00.0" is not a PCI address'],
    ["0000:00:20.0", 'slot 20 is over 1f in "0000:00:20.0"'],
    ["0000:00:1f.8", 'function 8 is over 7 in "0000:00:1f.8"'],
  ])("refuses PCI %s", (input, lead) => {
    expect(parsePciAddress(input)).toEqual({
      ok: false,
      message: `${lead}; write a PCI address as DDDD:BB:SS.F in hex, e.g. "0000:03:00.0" (see lspci -D)`,
    });
  });
  it("splits and lowercases USB ids", () => {
    expect(parseUsbId("046D:C52B")).toEqual({ ok: true, value: { vendor: "046d", product: "c52b" } });
  });
  it("refuses short USB ids", () => {
    expect(parseUsbId("46d:c52b")).toEqual({
      ok: false,
      message: '"46d:c52b" is not a USB id; write a USB device as vendor:product in hex, e.g. "046d:c52b" (see lsusb)',
    });
  });
});
