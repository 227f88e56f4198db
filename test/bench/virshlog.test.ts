import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installWrapper, parseLog, touchedObjects } from "../../bench/virshlog";

const dir = mkdtempSync(join(tmpdir(), "bench-virshlog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the virsh log", () => {
  it("names the object of each changing call, from its flag or its XML", () => {
    const calls = parseLog(
      [
        "- | -c qemu:///system nwfilter-dumpxml --nwfilter bench-work-fw",
        "bench-work-fw | -c qemu:///system nwfilter-define --file /tmp/bulkhead-x/object.xml",
        "bench-work | -c qemu:///system define --file /tmp/bulkhead-y/object.xml",
        "- | -c qemu:///system dominfo --domain bench-work",
        "bench-work-seed.iso | -c qemu:///system vol-create --pool bench-pool --file /tmp/z/object.xml",
        "- | -c qemu:///system vol-upload --pool bench-pool --vol bench-work-seed.iso --file /tmp/w/seed.iso",
        "",
      ].join("\n"),
    );
    expect(calls).toEqual([
      { command: "nwfilter-dumpxml" },
      { command: "nwfilter-define", object: "nwfilter bench-work-fw" },
      { command: "define", object: "domain bench-work" },
      { command: "dominfo" },
      { command: "vol-create", object: "volume bench-work-seed.iso" },
      { command: "vol-upload", object: "volume bench-work-seed.iso" },
    ]);
    expect(touchedObjects(calls)).toEqual(["domain bench-work", "nwfilter bench-work-fw", "volume bench-work-seed.iso"]);
  });

  it("logs through the wrapper script, reading a filter's name from its XML", () => {
    installWrapper(dir);
    const xml = join(dir, "object.xml");
    writeFileSync(xml, '<filter name="bench-a-fw" chain="root">\n  <rule action="accept"/>\n</filter>\n');
    const log = join(dir, "log");
    writeFileSync(log, "");
    // The real virsh stands in as `echo`, so nothing reaches libvirt.
    const out = execFileSync(join(dir, "virsh"), ["-c", "qemu:///system", "nwfilter-define", "--file", xml], {
      env: { PATH: process.env["PATH"], BENCH_VIRSH_LOG: log, BENCH_REAL_VIRSH: "/bin/echo" },
    }).toString();
    expect(out).toBe(`-c qemu:///system nwfilter-define --file ${xml}\n`);
    expect(readFileSync(log, "utf8")).toBe(`bench-a-fw | -c qemu:///system nwfilter-define --file ${xml}\n`);
    expect(touchedObjects(parseLog(readFileSync(log, "utf8")))).toEqual(["nwfilter bench-a-fw"]);
  });
});
