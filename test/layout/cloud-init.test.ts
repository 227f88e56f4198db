// `cloud_init` in the layout (docs/layout.md): the keys a person may set, the errors for
// values that could weaken bulkhead's network and firewall duties, and the merge of a
// template's users into its qubes.
import { describe, expect, it } from "vitest";
import { parseLayout } from "../../layout/load";
import { layoutIssues } from "./helpers";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb5bulkheadtestkeyonly00000000000000000000 alice@laptop";
const HASH = "$6$rounds=5000$saltsalt$0rYtj8b5Vqf3mVbyR0S3n9m8r0X3c2ZyG4hxq8oJ8b6xUQ0cD2E1wFv7mH3kLq9sT1aN5pR6yZ2uB4gC8dE0f.";

/** A small layout with `templates` and `qubes` YAML spliced in (two-space indented). */
function layout(templateExtra: string, qubes: string): string {
  return [
    "version: 1",
    "defaults: { template: deb, netvm: sys-firewall }",
    "templates:",
    "  deb:",
    "    image: /var/lib/libvirt/images/deb.qcow2",
    templateExtra,
    "  apps:",
    "    image: /var/lib/libvirt/images/apps.qcow2",
    "qubes:",
    "  sys-net: { class: NetVM, uplink: { bridge: br0 } }",
    "  sys-firewall: { class: ProxyVM, netvm: sys-net }",
    qubes,
    "",
  ].join("\n");
}

describe("cloud_init in the layout", () => {
  it("refuses a write_files path that bulkhead or the network configuration owns, and paths that are not plain", () => {
    const text = layout("", [
      "  work:",
      "    class: AppVM",
      "    template: apps",
      "    cloud_init:",
      "      write_files:",
      "        - { path: /etc/bulkhead/provider.nft, content: \"flush ruleset\\n\" }",
      "        - { path: /etc/network/interfaces, content: \"\" }",
      "        - { path: /home/../etc/cloud/cloud.cfg, content: \"\" }",
      "        - { path: relative/file, content: \"\" }",
    ].join("\n"));
    expect(layoutIssues(() => parseLayout(text, "t.yaml"))).toEqual([
      {
        path: "qubes.work.cloud_init.write_files.0.path",
        line: 17,
        message: '"/etc/bulkhead/provider.nft" is under /etc/bulkhead, which bulkhead or the guest\'s network configuration owns; write it elsewhere',
      },
      {
        path: "qubes.work.cloud_init.write_files.1.path",
        line: 18,
        message: '"/etc/network/interfaces" is under /etc/network, which bulkhead or the guest\'s network configuration owns; write it elsewhere',
      },
      {
        path: "qubes.work.cloud_init.write_files.2.path",
        line: 19,
        message: '"/home/../etc/cloud/cloud.cfg" is not a plain path: no "//", "/./", "/../" or trailing "/"',
      },
      { path: "qubes.work.cloud_init.write_files.3.path", line: 20, message: '"relative/file" is not an absolute path; start it with "/"' },
    ]);
  });

  it("refuses keys outside the contract (no network, bootcmd or passthrough), plain passwords and bad keys", () => {
    const text = layout("", [
      "  work:",
      "    class: AppVM",
      "    cloud_init:",
      "      users: [{ name: bob, password_hash: hunter2, ssh_authorized_keys: [\"not a key\"] }]",
      "      network: { config: disabled }",
      "      bootcmd: [\"nft flush ruleset\"]",
    ].join("\n"));
    expect(layoutIssues(() => parseLayout(text, "t.yaml"))).toEqual([
      {
        path: "qubes.work.cloud_init.users.0.ssh_authorized_keys.0",
        line: 15,
        message: 'is not an OpenSSH public key ("ssh-ed25519 AAAA… comment", one line, as in ~/.ssh/id_ed25519.pub)',
      },
      {
        path: "qubes.work.cloud_init.users.0.password_hash",
        line: 15,
        message: "must be a password hash, never the password itself: make one with `mkpasswd -m yescrypt` or `openssl passwd -6`",
      },
      {
        path: "qubes.work.cloud_init.network",
        line: 16,
        message: 'unknown key "network"; allowed here: users, ssh_authorized_keys, packages, write_files, runcmd',
      },
      {
        path: "qubes.work.cloud_init.bootcmd",
        line: 17,
        message: 'unknown key "bootcmd"; allowed here: users, ssh_authorized_keys, packages, write_files, runcmd',
      },
    ]);
  });

  it("refuses anything that runs as root on a provider or in a provider's template (a runcmd `nft flush ruleset` included)", () => {
    const text = layout(
      ["    cloud_init:", "      packages: [firewalld]", `      users: [{ name: alice, ssh_authorized_keys: ["${KEY}"] }]`].join("\n"),
      [
        "  sys-vpn:",
        "    class: ProxyVM",
        "    netvm: sys-firewall",
        "    template: apps",
        "    cloud_init:",
        "      runcmd: [\"nft flush ruleset\"]",
        "      write_files: [{ path: /etc/cron.d/flush, content: \"* * * * * root nft flush ruleset\\n\" }]",
      ].join("\n"),
    );
    expect(layoutIssues(() => parseLayout(text, "t.yaml"))).toEqual([
      {
        path: "templates.deb.cloud_init.packages",
        line: 7,
        message:
          "sys-firewall, sys-net (network providers) boot from this template, and what it installs or runs as root stays in its image; " +
          "remove packages, or give the providers a template of their own (as Qubes does with a minimal template for sys-net and sys-firewall)",
      },
      {
        path: "qubes.sys-vpn.cloud_init.runcmd",
        line: 19,
        message:
          "a ProxyVM provides network: only bulkhead runs commands and writes files as root there, so nothing can switch its ruleset off; " +
          "remove runcmd (users and ssh_authorized_keys are fine)",
      },
      {
        path: "qubes.sys-vpn.cloud_init.write_files",
        line: 20,
        message:
          "a ProxyVM provides network: only bulkhead runs commands and writes files as root there, so nothing can switch its ruleset off; " +
          "remove write_files (users and ssh_authorized_keys are fine)",
      },
    ]);
  });

  it("gives each qube its template's users and keys, then its own (a user named again replaces the template's), and keeps the rest to the template", () => {
    const text = layout(
      [
        "    cloud_init:",
        `      ssh_authorized_keys: ["${KEY}"]`,
        "      users: [{ name: alice, sudo: true }, { name: bob }]",
      ].join("\n"),
      [
        "  work:",
        "    class: AppVM",
        "    cloud_init:",
        `      users: [{ name: bob, password_hash: "${HASH}", groups: [adm] }]`,
        "      packages: [vim]",
        "      write_files: [{ path: /home/bob/notes, content: \"hi\\n\", permissions: \"0600\", owner: \"bob:bob\" }]",
        "      runcmd: [[touch, /home/bob/ok], \"echo done\"]",
        "  vault: { class: AppVM, netvm: null, template: apps }",
      ].join("\n"),
    );
    const resolved = parseLayout(text, "t.yaml");
    const byName = new Map(resolved.qubes.map((q) => [q.name, q]));
    expect(resolved.templates.find((t) => t.name === "deb")?.cloudInit).toEqual({
      users: [{ name: "alice", sudo: true }, { name: "bob" }],
      ssh_authorized_keys: [KEY],
      packages: [],
      write_files: [],
      runcmd: [],
    });
    expect(byName.get("work")?.cloudInit).toEqual({
      users: [{ name: "alice", sudo: true }, { name: "bob", password_hash: HASH, groups: ["adm"] }],
      ssh_authorized_keys: [KEY],
      packages: ["vim"],
      write_files: [{ path: "/home/bob/notes", content: "hi\n", permissions: "0600", owner: "bob:bob" }],
      runcmd: [["touch", "/home/bob/ok"], "echo done"],
    });
    // A provider gets the template's accounts only; a qube of another template gets nothing.
    expect(byName.get("sys-firewall")?.cloudInit).toEqual({
      users: [{ name: "alice", sudo: true }, { name: "bob" }],
      ssh_authorized_keys: [KEY],
      packages: [],
      write_files: [],
      runcmd: [],
    });
    expect(byName.get("vault")?.cloudInit).toBeUndefined();
  });
});
