// Control characters from a layout or a live host are escaped in everything echoed, so a
// name can neither clear the terminal nor forge a line of output.
import { describe, expect, it } from "vitest";
import { formatAuditText } from "../../cli/audit";
import { formatCheckText, invalidReport } from "../../cli/check";
import { formatTable } from "../../render/table";
import { LayoutError } from "../../layout/errors";
import { parseLayout } from "../../layout/load";
import { printable } from "../../layout/text";
import { layoutIssues } from "../layout/helpers";

describe("printable", () => {
  it("writes C0, DEL, C1, line separators and bidi overrides as escapes and keeps the rest", () => {
    expect(printable("a\u001b[2Jb\nc\td\u007fe\u009bf\u2028g\u202eh é ✓")).toBe("a\\x1b[2Jb\\x0ac\\x09d\\x7fe\\x9bf\\u2028g\\u202eh é ✓");
  });
});

// An unknown key holding a clear-screen sequence and a newline that forges a second line.
const hostile = `version: 1
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
qubes:
  vault: { class: AppVM, template: debian-12, netvm: null, "\\e[2J\\nqubes.vault: ok": 1 }
`;

describe("check's text output", () => {
  it("escapes a key's escape sequence and line break, one issue on one line", () => {
    const issues = layoutIssues(() => parseLayout(hostile, "hostile.yaml"));
    const text = formatCheckText(invalidReport("hostile.yaml", issues));
    expect(text).toBe(
      "hostile.yaml: invalid layout\n" +
        '  qubes.vault.\\x1b[2J\\x0aqubes.vault: ok (line 5): unknown key "\\x1b[2J\\x0aqubes.vault: ok"; allowed here: class, template, netvm, label, memory, maxmem, vcpus, autostart, private, discard_data, renamed_from, template_for_dispvms, provides_network, firewall, uplink, devices, display, kernelopts, cloud_init\n' +
        "1 error; nothing was simulated\n",
    );
    expect(text.includes("\u001b")).toBe(false);
  });

  it("the loader's own error message (what the Pulumi program prints) is escaped too", () => {
    let thrown: unknown;
    try {
      parseLayout(hostile, "hostile.yaml");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LayoutError);
    expect((thrown as Error).message.split("\n")).toHaveLength(1);
    expect((thrown as Error).message.includes("\u001b")).toBe(false);
  });
});

describe("audit's text and tables", () => {
  it("escapes a live host's domain name in a finding", () => {
    const report = {
      uri: "qemu:///system",
      ok: false,
      violations: [{ policy: "usb-confined", level: "mandatory" as const, qube: "x\u001b]0;pwned\u0007", message: "x\u001b]0;pwned\u0007: AppVM has USB\ndevice" }],
      summary: { domains: 1, networks: 0, filters: 0, mandatory: 1, advisory: 0 },
    };
    expect(formatAuditText(report)).toBe(
      "mandatory usb-confined (x\\x1b]0;pwned\\x07): x\\x1b]0;pwned\\x07: AppVM has USB\\x0adevice\n" +
        "qemu:///system: FAILED: 1 bulkhead domains, 0 networks, 0 nwfilters, 1 mandatory and 0 advisory violations\n",
    );
  });

  it("escapes table cells before aligning them", () => {
    expect(formatTable(["NAME", "X"], [["a\nb", "1"]])).toBe("NAME    X\na\\x0ab  1");
  });
});
