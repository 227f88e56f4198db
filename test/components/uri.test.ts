// The URI allow-list (docs/layout.md host.uri), one function asked by the loader,
// the program (the bulkhead:uri override too) and the provider (check and every virsh call).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { uriProblem } from "../../libvirt/uri";
import { compileResources } from "../../components/compile";
import { simulateLayout } from "../../components/simulate";
import { parseLayout } from "../../layout/load";
import { BulkheadProvider } from "../../provider/provider";
import { virsh } from "../../libvirt/virsh";
import { layoutIssues } from "../layout/helpers";
import { example } from "./fixtures";

const allowed = [
  "qemu:///system",
  "qemu:///session",
  "qemu+unix:///system",
  "qemu+ssh://root@lab1/system",
  "qemu+ssh://admin@lab1.example.org:2222/system?keyfile=/root/.ssh/id_ed25519&no_tty=1",
  "qemu+libssh://lab1/system?known_hosts=/root/.ssh/known_hosts&known_hosts_verify=normal&sshauth=agent,privkey",
  "qemu+libssh2://root@10.0.0.5/system",
  "qemu+tls://lab1/system?pkipath=/etc/pki/bulkhead",
  "qemu+tls://[fd00::1]:16514/system",
  "qemu+unix:///system?mode=direct",
];

const refused: [string, string][] = [
  ["qemu+ext:///system?command=/path/to/script", 'uses the transport "ext" (it runs a local program)'],
  ["qemu+ssh://lab1/system?netcat=/tmp/evil", 'has the query parameter "netcat" (it names a local program or socket)'],
  ["qemu+ssh://lab1/system?command=/tmp/evil", 'has the query parameter "command" (it names a local program or socket)'],
  ["qemu+unix:///system?socket=/tmp/other.sock", 'has the query parameter "socket" (it names a local program or socket)'],
  ["qemu+tcp://lab1/system", 'uses the transport "tcp" (it is unencrypted and unauthenticated)'],
  ["qemu://lab1/system", "names a host without a transport; write qemu+tls://lab1/… or qemu+ssh://…@lab1/…"],
  ["xen:///system", 'uses the driver "xen"; bulkhead drives only qemu'],
  ["qemu+ssh://-oProxyCommand=evil/system", "is not a libvirt URI bulkhead accepts"],
  ["qemu+ssh://-l@lab1/system", "is not a libvirt URI bulkhead accepts"],
  ["qemu:///embed?root=/tmp/x", 'ends in "/embed"'],
  ["qemu+ssh://lab1/system?keyfile=/a&keyfile=/b", 'gives the query parameter "keyfile" twice'],
  ["qemu+ssh://lab1/system?keyfile=/a%20b;touch", 'has a value for "keyfile" with characters a URI parameter may not hold'],
  ["qemu:///system\nqemu+ext:///x", "must not contain spaces or control characters"],
];

describe("uriProblem", () => {
  it.each(allowed)("accepts %s", (uri) => {
    expect(uriProblem(uri)).toBeUndefined();
  });

  it.each(refused)("refuses %j", (uri, why) => {
    expect(uriProblem(uri)).toContain(why);
  });
});

const layoutWith = (uri: string) => `version: 1
host:
  uri: ${JSON.stringify(uri)}
templates:
  debian-12: { image: /var/lib/libvirt/images/debian-12.qcow2 }
qubes:
  vault: { class: AppVM, template: debian-12, netvm: null }
`;

describe("the loader", () => {
  it("reports a command-running URI at host.uri with its line", () => {
    expect(layoutIssues(() => parseLayout(layoutWith("qemu+ext:///system?command=/path/to/script"), "t.yaml"))).toEqual([
      {
        path: "host.uri",
        line: 3,
        message:
          '"qemu+ext:///system?command=/path/to/script" uses the transport "ext" (it runs a local program); use one of unix, ssh, libssh, libssh2, tls, or none for the local socket',
      },
    ]);
  });

  it("accepts an ssh URI", () => {
    expect(parseLayout(layoutWith("qemu+ssh://admin@lab1/system"), "t.yaml").host.uri).toBe("qemu+ssh://admin@lab1/system");
  });
});

describe("the program", () => {
  it("refuses a bulkhead:uri override outside the list, in plan and under the mocks", async () => {
    const uri = "qemu+ssh://lab1/system?netcat=/tmp/evil";
    const message = 'bulkhead:uri: "qemu+ssh://lab1/system?netcat=/tmp/evil" has the query parameter "netcat" (it names a local program or socket); only keyfile, known_hosts, known_hosts_verify, sshauth, pkipath, no_tty, mode are allowed';
    expect(() => compileResources(example, { uri })).toThrow(message);
    await expect(simulateLayout(example, { uri })).rejects.toThrow(message);
  });

  it("refuses a hand-built layout whose host.uri never went through the loader", () => {
    const layout = { ...example, host: { ...example.host, uri: "qemu+tcp://lab1/system" } };
    expect(() => compileResources(layout)).toThrow('host.uri: "qemu+tcp://lab1/system" uses the transport "tcp"');
  });
});

describe("the provider", () => {
  const work = mkdtempSync(join(tmpdir(), "bulkhead-uri-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("check fails a resource whose uri is outside the list", async () => {
    const urn = "urn:pulumi:dev::bulkhead::bulkhead:libvirt:Pool::p";
    const inputs = { uri: "qemu+ext:///system?command=/bin/true", name: "p", type: "dir", target: { path: "/var/lib/p" } };
    const result = await new BulkheadProvider().check(urn, {}, inputs);
    expect(result.failures).toEqual([
      {
        property: "uri",
        reason: '"qemu+ext:///system?command=/bin/true" uses the transport "ext" (it runs a local program); use one of unix, ssh, libssh, libssh2, tls, or none for the local socket',
      },
    ]);
  });

  it("virsh refuses the URI before anything runs, so the command never starts", async () => {
    const marker = join(work, "ran");
    const script = join(work, "script");
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    await expect(virsh(`qemu+ext:///system?command=${script}`, ["list"])).rejects.toThrow(
      /^refusing to run virsh: ".*" uses the transport "ext" \(it runs a local program\)/,
    );
    expect(existsSync(marker)).toBe(false);
  });
});
