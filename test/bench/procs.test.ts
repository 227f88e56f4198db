import { describe, expect, it } from "vitest";
import { parseCpuSeconds, parseHwm, roleOf } from "../../bench/procs";

describe("peak memory from /proc", () => {
  it("reads VmHWM in bytes", () => {
    expect(parseHwm("Name:\tnode\nVmPeak:\t  999 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n")).toBe(123456 * 1024);
    expect(parseHwm("Name:\tkthreadd\n")).toBe(0);
  });

  it("tells the engine, the provider and the program apart", () => {
    expect(roleOf(10, 10, "/root/.cache/bulkhead/engine-v3.274.1/pulumi up --yes")).toBe("engine");
    expect(roleOf(11, 10, "node /work/main/bin/../dist/provider/main.js 127.0.0.1:4000")).toBe("provider");
    expect(roleOf(12, 10, "/usr/bin/node /work/main/node_modules/@pulumi/pulumi/cmd/run index.ts")).toBe("program");
    expect(roleOf(13, 10, "virsh -c qemu:///system define")).toBe("other");
  });
});

describe("CPU time from /proc", () => {
  it("adds user and system ticks, past a command name holding spaces and parentheses", () => {
    const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 5000 1000 200";
    expect(parseCpuSeconds(stat)).toBe(3);
  });
});
