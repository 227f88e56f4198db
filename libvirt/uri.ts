// The libvirt connection URIs bulkhead accepts (docs/layout.md `host.uri`): the
// `qemu` driver over the local socket, unix, ssh, libssh, libssh2 or tls, with a short
// list of query parameters. Anything else (`qemu+ext`, `command=`, `netcat=`, `socket=`,
// plain `tcp`) could make virsh run a local program or talk in the clear, and a URI
// comes from a layout, which is untrusted input. The loader, the program and the
// provider (every virsh call) all ask this one function.

export const URI_TRANSPORTS = ["unix", "ssh", "libssh", "libssh2", "tls"] as const;
export const URI_PARAMETERS = ["keyfile", "known_hosts", "known_hosts_verify", "sshauth", "pkipath", "no_tty", "mode"] as const;

// A user or host can never start with "-" (it must not read as an ssh option), and
// holds no characters a shell, ssh or libvirt's URI parser treat specially.
const USER = "[A-Za-z0-9_][A-Za-z0-9._-]{0,63}";
const HOST = "[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]{2,45}\\]";
const SHAPE = new RegExp(
  `^qemu(?:\\+([a-z0-9]+))?://(?:(${USER})@)?(${HOST})?(?::([0-9]{1,5}))?/([a-z]*)(?:\\?([^#]*))?$`,
);
// Values are paths, names and short lists: no quotes, spaces, "&" or "=" inside one.
const VALUE = /^[A-Za-z0-9._~/:,+%@-]{0,1024}$/;

const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/**
 * Why `uri` is not an allowed libvirt URI, or undefined when it is. The complaint is one
 * sentence that says what to write instead.
 */
export function uriProblem(uri: string): string | undefined {
  if (typeof uri !== "string") return "a libvirt URI must be text";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(uri)) return "a libvirt URI must not contain spaces or control characters";
  const m = SHAPE.exec(uri);
  if (m === null) {
    const driver = /^([A-Za-z0-9+]*):/.exec(uri)?.[1];
    if (driver !== undefined && !/^qemu(\+|$)/.test(driver)) {
      return `${show(uri)} uses the driver "${driver.split("+")[0]}"; bulkhead drives only qemu: write qemu:///system or qemu+ssh://user@host/system`;
    }
    return `${show(uri)} is not a libvirt URI bulkhead accepts; write qemu:///system or qemu+<transport>://[user@]host[:port]/system`;
  }
  const [, transport, , host, port, path, query] = m;
  if (transport !== undefined && !(URI_TRANSPORTS as readonly string[]).includes(transport)) {
    const why = transport === "ext" ? " (it runs a local program)" : transport === "tcp" ? " (it is unencrypted and unauthenticated)" : "";
    return `${show(uri)} uses the transport "${transport}"${why}; use one of ${URI_TRANSPORTS.join(", ")}, or none for the local socket`;
  }
  if (transport === undefined && host !== undefined) {
    return `${show(uri)} names a host without a transport; write qemu+tls://${host}/… or qemu+ssh://…@${host}/…`;
  }
  if (port !== undefined && Number(port) > 65535) return `${show(uri)} has port ${port}; a port is at most 65535`;
  if (path !== "system" && path !== "session") return `${show(uri)} ends in "/${path}"; the qemu driver's paths are /system and /session`;
  if (query !== undefined) {
    const seen = new Set<string>();
    for (const part of query.split("&")) {
      const eq = part.indexOf("=");
      const key = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? "" : part.slice(eq + 1);
      if (!(URI_PARAMETERS as readonly string[]).includes(key)) {
        const why = key === "command" || key === "netcat" || key === "socket" ? " (it names a local program or socket)" : "";
        return `${show(uri)} has the query parameter ${show(key)}${why}; only ${URI_PARAMETERS.join(", ")} are allowed`;
      }
      if (seen.has(key)) return `${show(uri)} gives the query parameter "${key}" twice; keep one`;
      seen.add(key);
      if (!VALUE.test(value)) return `${show(uri)} has a value for "${key}" with characters a URI parameter may not hold`;
    }
  }
  return undefined;
}

/** Throws unless `uri` is allowed; `where` says who passed it (e.g. "bulkhead:uri"). */
export function assertAllowedUri(uri: string, where: string): void {
  const problem = uriProblem(uri);
  if (problem !== undefined) throw new Error(`${where}: ${problem}`);
}
