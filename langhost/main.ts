// bulkhead's Node.js language host: the engine's `pulumi-language-nodejs` plugin.
//
// Pulumi's own host is a Go program that the Go module proxy does not serve, so this one
// replaces it. The engine starts it as `pulumi-language-nodejs [--logtostderr] [-v=N]
// [--tracing URL] <engine address>`, reads the port from our first stdout line, then dials us.
import * as fs from "node:fs";
import * as path from "node:path";
import { LanguageHost, LanguageRuntimeService } from "./server";
import { grpc } from "./proto";

export interface CommandLine {
  engineAddress: string;
  tracing: string | undefined;
}

export function parseCommandLine(argv: string[]): CommandLine {
  let tracing: string | undefined;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--tracing") {
      tracing = argv[++i];
    } else if (a.startsWith("--tracing=")) {
      tracing = a.slice("--tracing=".length);
    } else if (!a.startsWith("-")) {
      positionals.push(a);
    }
    // Other flags (--logtostderr, -v=N, ...) configure Go logging; nothing to do here.
  }
  return { engineAddress: positionals[positionals.length - 1] ?? "", tracing };
}

/** bulkhead's version, from the package.json above this file (source or dist layout). */
function hostVersion(): string {
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string };
      return pkg.version ?? "0.0.0";
    }
    const parent = path.dirname(dir);
    if (parent === dir) return "0.0.0";
    dir = parent;
  }
}

// The engine sends whole programs' worth of data in some calls; match its 400 MiB limit.
const MAX_MESSAGE = 400 * 1024 * 1024;

export async function main(argv: string[]): Promise<void> {
  const cmd = parseCommandLine(argv);
  const host = new LanguageHost({
    engineAddress: cmd.engineAddress,
    tracing: cmd.tracing,
    version: hostVersion(),
    nodePath: process.execPath,
  });
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE,
    "grpc.max_send_message_length": MAX_MESSAGE,
  });
  server.addService(LanguageRuntimeService, host.implementation());
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err !== null ? reject(err) : resolve(p),
    );
  });

  // The engine stops plugins with SIGINT to the process group, then SIGKILL after 5 s:
  // stop our children too, and leave once they have exited.
  const stop = (signal: NodeJS.Signals): void => {
    server.forceShutdown();
    if (host.children.size === 0) process.exit(0);
    let left = host.children.size;
    for (const child of host.children) {
      child.once("close", () => {
        if (--left === 0) process.exit(0);
      });
      child.kill(signal);
    }
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // An engine killed with SIGKILL cannot stop us: leave (and stop the program) once it is gone.
  const engine = process.ppid;
  setInterval(() => {
    if (process.ppid !== engine) stop("SIGTERM");
  }, 1000).unref();

  process.stdout.write(`${port}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`pulumi-language-nodejs (bulkhead): ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
