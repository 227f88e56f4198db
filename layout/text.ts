// The one escape for anything bulkhead echoes to a terminal or a log: a layout is
// untrusted input, and a name, key or value holding an escape sequence or a line break
// could clear a screen or forge a line of output. Every printer (the loader's messages,
// check, plan, audit, tables, the CLI's errors) passes values through `printable`.

// C0 controls (line breaks and tabs included: a value is echoed on one line), DEL, C1
// controls, and the Unicode line separators and bidirectional overrides that reorder text.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character written as `\xNN` or `\uNNNN`, so it shows but never acts. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
