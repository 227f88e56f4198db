// Pure parsers for the small value languages inside a layout (sizes, port ranges,
// addresses, device ids). The schema calls them; each returns the normalised value
// or a one-line message that says how to write it instead.

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB, GiB: 1024 * MiB, TiB: 1024 * 1024 * MiB };
const SIZE_HINT = 'write a size like "2GiB" or "512MiB", or a number of bytes';

/** `2GiB`, `512MiB`, `1048576B`, or a whole number of bytes; at least 1MiB. */
export function parseSize(input: unknown): Parsed<number> {
  let bytes: number;
  if (typeof input === "number") {
    bytes = input;
  } else if (typeof input === "string") {
    const m = /^(\d{1,20})\s?(B|KiB|MiB|GiB|TiB)?$/.exec(input.trim());
    if (m === null) {
      // SI units are a common slip; say which binary unit was meant.
      const si = /^\d+\s?([KMGT])B?$/i.exec(input.trim());
      if (si !== null) return fail(`${JSON.stringify(input)} uses a decimal unit; ${SIZE_HINT} (binary units KiB, MiB, GiB, TiB)`);
      return fail(`${JSON.stringify(input.slice(0, 40))} is not a size; ${SIZE_HINT}`);
    }
    bytes = Number(m[1]) * UNITS[m[2] ?? "B"];
  } else {
    return fail(SIZE_HINT);
  }
  if (!Number.isSafeInteger(bytes)) return fail(`${String(input)} is not a whole number of bytes in range; ${SIZE_HINT}`);
  if (bytes < MiB) return fail(`${String(input)} is too small; a volume needs at least 1MiB`);
  return ok(bytes);
}

/** `443`, `"443"` or `"8000-8080"`: an inclusive range of ports 0..65535 (Qubes accepts port 0). */
export function parsePorts(input: unknown): Parsed<{ start: number; end: number }> {
  const hint = 'write a port (0-65535) or a range "N-M" with N <= M';
  const text = typeof input === "number" ? String(input) : typeof input === "string" ? input.trim() : undefined;
  if (text === undefined) return fail(hint);
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (m === null) return fail(`${JSON.stringify(text.slice(0, 40))} is not a port or port range; ${hint}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const port of [start, end]) {
    if (port > 65535) return fail(`port ${port} is out of range; ${hint}`);
  }
  if (start > end) return fail(`range ${text} runs backwards; ${hint}`);
  return ok({ start, end });
}

/** Dotted quad without leading zeros (which some tools read as octal). */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** Eight 16-bit groups, or undefined; accepts `::` and a trailing dotted quad, not zone ids. */
function parseIPv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of 2+ zero groups as `::`. */
export function formatIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Zero the bits past `prefix` in a list of `width`-bit words. */
function mask(words: number[], width: number, prefix: number): number[] {
  return words.map((word, i) => {
    const keep = Math.max(0, Math.min(width, prefix - i * width));
    return keep === 0 ? 0 : word & (((1 << keep) - 1) << (width - keep));
  });
}

/** A DNS name as RFC 1123 allows it: labels of letters, digits and inner hyphens, at most 253 characters. */
const HOST_NAME = /^(?=.{1,253}\.?$)(?=.*[a-zA-Z])([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

/** A `dsthost` that is a DNS name (resolved at deploy time) rather than an address or CIDR. */
export function isHostName(dsthost: string): boolean {
  // Addresses are normalised to CIDRs; a bare address (no letters, or an IPv6 colon) is not a name either.
  return !dsthost.includes("/") && !dsthost.includes(":") && /[a-zA-Z]/.test(dsthost);
}

/**
 * A firewall `dsthost`: IPv4/IPv6 address or CIDR, normalised to `a.b.c.d/len` or
 * `x::/len` with host bits cleared (as Qubes does), or a DNS name, normalised to
 * lowercase without a trailing dot. Names are only checked for syntax here (offline);
 * the program resolves them when it deploys (layout/hostnames.ts).
 */
export function parseDstHost(input: unknown): Parsed<string> {
  const hint = "use an IPv4 or IPv6 address or CIDR (e.g. 192.168.1.0/24 or 2001:db8::/32) or a host name (e.g. example.com)";
  if (typeof input !== "string") return fail(hint);
  const text = input.trim();
  const url = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/:?#]*)/.exec(text);
  if (url !== null) {
    const host = url[2] === "" ? "" : ` (the host part is ${JSON.stringify(url[2].slice(0, 60))})`;
    return fail(
      `${JSON.stringify(text.slice(0, 60))} is a URL; dsthost takes only an address, a CIDR or a host name${host}: ` +
        "write the port as dstports and the protocol as proto",
    );
  }
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) {
    return fail(`${JSON.stringify(text.slice(0, 60))} has a bad prefix length; ${hint}`);
  }
  const v4 = parseIPv4(address);
  if (v4 !== undefined) {
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (prefix > 32) return fail(`prefix /${prefix} is over 32 for an IPv4 address; ${hint}`);
    return ok(`${mask(v4, 8, prefix).join(".")}/${prefix}`);
  }
  const v6 = parseIPv6(address);
  if (v6 !== undefined) {
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (prefix > 128) return fail(`prefix /${prefix} is over 128 for an IPv6 address; ${hint}`);
    return ok(`${formatIPv6(mask(v6, 16, prefix))}/${prefix}`);
  }
  if (prefixText === undefined && HOST_NAME.test(text)) return ok(text.toLowerCase().replace(/\.$/, ""));
  if (prefixText !== undefined && HOST_NAME.test(address)) {
    return fail(`${JSON.stringify(text.slice(0, 60))} gives a host name a prefix length; write the name alone, or a CIDR`);
  }
  return fail(`${JSON.stringify(text.slice(0, 60))} is neither an address nor a host name; ${hint}`);
}

/** A whole number written as a number or as a string of digits (as Qubes accepts `icmptype: "8"`). */
export function parseWhole(input: unknown, min: number, max: number, unit = ""): Parsed<number> {
  const n = typeof input === "string" && /^\d{1,16}$/.test(input.trim()) ? Number(input.trim()) : input;
  if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return ok(n);
  return fail(`must be a whole number${unit} from ${min} to ${max}, not ${typeof input === "string" ? JSON.stringify(input.slice(0, 40)) : String(input)}`);
}

/** A rule's expiry as written: an absolute time, or seconds after the deploy. */
export type Expire = { at: number } | { after: number };

/** `expire`: epoch seconds (a number or a string of digits) or `+N`, as `qvm-firewall` writes them. */
export function parseExpire(input: unknown): Parsed<Expire> {
  const hint = 'write epoch seconds (e.g. 1463292452) or "+N" for N seconds after the deploy (e.g. "+3600")';
  if (typeof input === "string") {
    const relative = /^\+(\d{1,12})$/.exec(input.trim());
    if (relative !== null) return ok({ after: Number(relative[1]) });
  }
  const absolute = parseWhole(input, 0, Number.MAX_SAFE_INTEGER);
  if (absolute.ok) return ok({ at: absolute.value });
  return fail(`${typeof input === "string" ? JSON.stringify(input.slice(0, 40)) : String(input)} is not an expiry; ${hint}`);
}

/** A listen address for a display: one IPv4 or IPv6 address, no prefix. */
export function parseListen(input: unknown): Parsed<string> {
  const hint = "use an IP address such as 127.0.0.1 or ::1";
  if (typeof input !== "string") return fail(hint);
  const v4 = parseIPv4(input.trim());
  if (v4 !== undefined) return ok(v4.join("."));
  const v6 = parseIPv6(input.trim());
  if (v6 !== undefined) return ok(formatIPv6(v6));
  return fail(`${JSON.stringify(input.slice(0, 60))} is not an IP address; ${hint}`);
}

/** `DDDD:BB:SS.F` in hex (slot <= 1f, function <= 7), normalised to lowercase. */
export function parsePciAddress(input: unknown): Parsed<string> {
  const hint = 'write a PCI address as DDDD:BB:SS.F in hex, e.g. "0000:03:00.0" (see lspci -D)';
  if (typeof input !== "string") return fail(hint);
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-9a-fA-F])$/.exec(input.trim());
  if (m === null) return fail(`${JSON.stringify(input.slice(0, 40))} is not a PCI address; ${hint}`);
  if (parseInt(m[3], 16) > 0x1f) return fail(`slot ${m[3]} is over 1f in ${JSON.stringify(input)}; ${hint}`);
  if (parseInt(m[4], 16) > 7) return fail(`function ${m[4]} is over 7 in ${JSON.stringify(input)}; ${hint}`);
  return ok(input.trim().toLowerCase());
}

/** `vendor:product`, 4 hex digits each (as lsusb prints them), normalised to lowercase. */
export function parseUsbId(input: unknown): Parsed<{ vendor: string; product: string }> {
  const hint = 'write a USB device as vendor:product in hex, e.g. "046d:c52b" (see lsusb)';
  if (typeof input !== "string") return fail(hint);
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(input.trim());
  if (m === null) return fail(`${JSON.stringify(input.slice(0, 40))} is not a USB id; ${hint}`);
  return ok({ vendor: m[1].toLowerCase(), product: m[2].toLowerCase() });
}
