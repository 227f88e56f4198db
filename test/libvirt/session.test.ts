// The persistent virsh session: virsh's own tokenizer must receive every value
// as exactly one argument (hostile values included), outputs must equal those
// of a virsh process per call, and a session that dies or hangs is replaced.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirshSession, VirshSessions, sessionArgs, sessionsFromEnv } from "../../libvirt/session";
import { VirshError, useSessions, virsh } from "../../libvirt/virsh";
import { labUri } from "../helpers/libvirt";

/** Values virsh's command-line parser would split, expand or take as options if they were not quoted. */
const HOSTILE = [
  `a'b "c" \\ ; # $(id) --file`,
  "--domain",
  "x;version",
  "'",
  "''",
  '"',
  "\\",
  "a\\",
  "# comment",
  "x".repeat(300),
  " leading and trailing ",
];

describe("sessionArgs", () => {
  it("single-quotes every argument and sends a quote as '\\''", () => {
    expect(sessionArgs(["dominfo", "--domain", "a'b c"])).toBe(`'dominfo' '--domain' 'a'\\''b c'`);
    expect(sessionArgs(["x", ""])).toBe(`'x' ''`);
  });

  it("refuses what a readline line cannot carry: newlines, control characters, non-ASCII", () => {
    expect(sessionArgs(["dominfo", "--domain", "a\nversion"])).toBeUndefined();
    expect(sessionArgs(["dominfo", "--domain", "a\tb"])).toBeUndefined();
    expect(sessionArgs(["dominfo", "--domain", "a\x01"])).toBeUndefined();
    expect(sessionArgs(["dominfo", "--domain", "é"])).toBeUndefined();
    expect(sessionArgs([])).toBeUndefined();
  });

  it("reads the pool size from BULKHEAD_VIRSH_SESSIONS (0: a process per call)", () => {
    expect(sessionsFromEnv({}, 1)?.size).toBe(1);
    expect(sessionsFromEnv({ BULKHEAD_VIRSH_SESSIONS: "3" }, 1)?.size).toBe(3);
    expect(sessionsFromEnv({ BULKHEAD_VIRSH_SESSIONS: "0" }, 1)).toBeUndefined();
    expect(() => sessionsFromEnv({ BULKHEAD_VIRSH_SESSIONS: "two" }, 1)).toThrow("BULKHEAD_VIRSH_SESSIONS must be a whole number");
  });
});

describe("a virsh session on the lab host", () => {
  let uri: string;
  let session: VirshSession;
  beforeAll(async () => {
    uri = await labUri();
    session = new VirshSession(uri);
  });
  afterAll(() => session.close());

  it("hands virsh each hostile value as one argument, exactly", async () => {
    for (const v of HOSTILE) {
      const err = await session.run(["dominfo", "--domain", v]).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(VirshError);
      expect((err as VirshError).stderr).toBe(`error: failed to get domain '${v}'\n`);
    }
    // All of them through one process, and it is still in step.
    expect(session.starts).toBe(1);
    expect(await session.run(["echo", "still", "here"])).toBe("still here\n");
  });

  it("returns what a virsh process per call prints, table headers included", async () => {
    for (const args of [["version"], ["nwfilter-list"], ["pool-list", "--all"], ["net-list", "--all", "--name"], ["nwfilter-dumpxml", "--nwfilter", "clean-traffic"]]) {
      expect(await session.run(args)).toBe(await virsh(uri, args));
    }
  });

  it("routes calls whose values a session cannot carry to a process of their own", async () => {
    const pool = new VirshSessions(1);
    useSessions(pool);
    try {
      const viaSession = await virsh(uri, ["dominfo", "--domain", "no such"]).catch((e: unknown) => e);
      const viaProcess = await virsh(uri, ["dominfo", "--domain", "a\tb"]).catch((e: unknown) => e);
      expect((viaSession as VirshError).stderr).toBe("error: failed to get domain 'no such'\n");
      expect((viaProcess as VirshError).stderr).toBe("error: failed to get domain 'a\tb'\n");
      expect(pool.starts).toBe(1);
    } finally {
      useSessions(undefined);
      pool.close();
    }
  });
});

describe("the call log", () => {
  it("writes one line per call with BULKHEAD_VIRSH_LOG, the object's name taken from its XML", async () => {
    const uri = await labUri();
    const dir = mkdtempSync(join(tmpdir(), "bhtest-log-"));
    const file = join(dir, "calls.log");
    process.env["BULKHEAD_VIRSH_LOG"] = file;
    try {
      await virsh(uri, ["version"]);
      await virsh(uri, ["nwfilter-dumpxml", "--nwfilter", "no such"], { xml: '<filter name="bhtest-f"/>' }).catch(() => undefined);
      const lines = readFileSync(file, "utf8").split("\n");
      expect(lines[0]).toBe(`- | -c ${uri} version`);
      expect(lines[1]).toMatch(new RegExp(`^bhtest-f \\| -c ${uri} nwfilter-dumpxml --nwfilter no such --file /`));
      expect(lines.length).toBe(3);
    } finally {
      delete process.env["BULKHEAD_VIRSH_LOG"];
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a virsh session that dies or hangs", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bhtest-session-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function fake(name: string, body: string): string {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it("fails the command in flight with the exit, and starts a new virsh for the next", async () => {
    const s = new VirshSession("qemu:///nowhere", fake("dies", "read line; echo 'error: gone' >&2; exit 3"));
    await expect(s.run(["list"])).rejects.toThrow("virsh session exited (code 3)");
    await expect(s.run(["list"])).rejects.toThrow("error: gone");
    expect(s.starts).toBe(2);
    s.close();
  });

  it("kills a session whose command outlives its timeout", async () => {
    const s = new VirshSession("qemu:///nowhere", fake("hangs", "exec sleep 60"));
    await expect(s.run(["list"], 300)).rejects.toThrow("timed out after 300 ms (virsh session killed)");
    expect(s.load).toBe(0);
    s.close();
  });
});
