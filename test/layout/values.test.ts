import { describe, expect, it } from "vitest";
import {
  formatIPv6,
  parseDstHost,
  parseListen,
  parsePciAddress,
  parsePorts,
  parseSize,
  parseUsbId,
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

describe("parsePorts", () => {
  it.each([
    [443, { start: 443, end: 443 }],
    ["80", { start: 80, end: 80 }],
    ["8000-8080", { start: 8000, end: 8080 }],
    ["1-65535", { start: 1, end: 65535 }],
  ])("%s", (input, range) => {
    expect(parsePorts(input)).toEqual({ ok: true, value: range });
  });

  const hint = 'write a port (1-65535) or a range "N-M" with N <= M';
  it.each([
    [0, `port 0 is out of range; ${hint}`],
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
  ])("%s normalises to %s", (input, normal) => {
    expect(parseDstHost(input)).toEqual({ ok: true, value: normal });
  });

  const hint = "use an IPv4 or IPv6 address or CIDR, e.g. 192.168.1.0/24 or 2001:db8::/32";
  it.each([
    ["example.com", `"example.com" is a host name; names are not supported yet: ${hint}`],
    ["localhost", `"localhost" is a host name; names are not supported yet: ${hint}`],
    ["10.0.0.0/33", `prefix /33 is over 32 for an IPv4 address; ${hint}`],
    ["::/129", `prefix /129 is over 128 for an IPv6 address; ${hint}`],
    ["10.0.0.256", `"10.0.0.256" is not an address; ${hint}`],
    ["010.0.0.1", `"010.0.0.1" is not an address; ${hint}`],
    ["1:2:3:4:5:6:7:8:9", `"1:2:3:4:5:6:7:8:9" is not an address; ${hint}`],
    ["1::2::3", `"1::2::3" is not an address; ${hint}`],
    ["10.0.0.0/x", `"10.0.0.0/x" has a bad prefix length; ${hint}`],
    ["fe80::1%eth0", `"fe80::1%eth0" is not an address; ${hint}`],
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
