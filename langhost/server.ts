// pulumirpc.LanguageRuntime for Node.js programs, served with @grpc/grpc-js.
// Methods not implemented here get grpc-js's default UNIMPLEMENTED answer, which the engine
// treats as "not supported" (e.g. RuntimeOptionsPrompts, Template, code generation).
import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as languagePb from "@pulumi/pulumi/proto/language_pb";
import { requiredPlugins, programDependencies } from "./deps";
import { planPlugin, planRun, runOutcome, type Launch, type ProgramInfo, type Resolve, resolveFrom } from "./launch";
import { Empty, grpc, language, languageGrpc, plugin } from "./proto";

export interface HostOptions {
  /** The engine's address, from the command line (or a later Handshake). */
  engineAddress: string;
  tracing: string | undefined;
  version: string;
  nodePath: string;
  resolve?: Resolve;
}

type Unary<Req, Res> = (
  call: grpcTypes.ServerUnaryCall<Req, Res>,
  callback: grpcTypes.sendUnaryData<Res>,
) => void;

function toInfo(info: languagePb.ProgramInfo | undefined): ProgramInfo {
  if (info === undefined) throw new Error("the engine sent no program info");
  const options = info.getOptions()?.toJavaScript() ?? {};
  return {
    rootDirectory: info.getRootDirectory(),
    programDirectory: info.getProgramDirectory(),
    entryPoint: info.getEntryPoint() === "" ? "." : info.getEntryPoint(),
    options: options as Record<string, unknown>,
  };
}

function failure(err: unknown): grpcTypes.ServiceError {
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), {
    code: grpc.status.INTERNAL,
    details: message,
    metadata: new grpc.Metadata(),
  });
}

// Every unary handler is async; a throw becomes an INTERNAL status instead of a crashed host.
function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): Unary<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(failure(err)),
      );
  };
}

export class LanguageHost {
  /** Programs and plugins we started; the signal handler in main.ts stops them with us. */
  readonly children = new Set<ChildProcess>();
  private readonly resolve: Resolve;

  constructor(private readonly opts: HostOptions) {
    this.resolve = opts.resolve ?? resolveFrom;
  }

  private start(launch: Launch, stdio: "inherit" | "pipe"): ChildProcess {
    const child = spawn(launch.file, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ["ignore", stdio, stdio],
    });
    this.children.add(child);
    child.on("close", () => this.children.delete(child));
    return child;
  }

  private readonly handshake = unary((req: languagePb.LanguageHandshakeRequest) => {
    if (req.getEngineAddress() !== "") this.opts.engineAddress = req.getEngineAddress();
    return new language.LanguageHandshakeResponse();
  });

  private readonly getPluginInfo = unary(() => new plugin.PluginInfo().setVersion(this.opts.version));

  private readonly getRequiredPlugins = unary((req: languagePb.GetRequiredPluginsRequest) => {
    const info = toInfo(req.getInfo());
    const res = new language.GetRequiredPluginsResponse();
    for (const p of requiredPlugins(info.programDirectory)) {
      res.addPlugins(
        new plugin.PluginDependency().setName(p.name).setKind(p.kind).setVersion(p.version).setServer(p.server),
      );
    }
    return res;
  });

  private readonly getRequiredPackages = unary((req: languagePb.GetRequiredPackagesRequest) => {
    const info = toInfo(req.getInfo());
    const res = new language.GetRequiredPackagesResponse();
    for (const p of requiredPlugins(info.programDirectory)) {
      res.addPackages(
        new plugin.PackageDependency().setName(p.name).setKind(p.kind).setVersion(p.version).setServer(p.server),
      );
    }
    return res;
  });

  private readonly run = unary(async (req: languagePb.RunRequest) => {
    const config: Record<string, string> = {};
    req.getConfigMap().forEach((value, key) => {
      config[key] = value;
    });
    const launch = planRun(
      {
        monitorAddress: req.getMonitorAddress(),
        engineAddress: this.opts.engineAddress,
        organization: req.getOrganization(),
        project: req.getProject(),
        stack: req.getStack(),
        pwd: req.getPwd(),
        dryRun: req.getDryrun(),
        parallel: req.getParallel(),
        tracing: this.opts.tracing,
        info: toInfo(req.getInfo()),
        args: req.getArgsList(),
        config,
        configSecretKeys: req.getConfigsecretkeysList(),
      },
      process.env,
      this.opts.nodePath,
      this.resolve,
    );
    // The program writes to our stdout/stderr, which the engine already relays to the user.
    const child = this.start(launch, "inherit");
    const outcome = await new Promise<{ error: string; bail: boolean }>((resolve) => {
      child.on("error", (err) => resolve({ error: `could not start node: ${err.message}`, bail: false }));
      child.on("close", (code, signal) => resolve(runOutcome(code, signal)));
    });
    return new language.RunResponse().setError(outcome.error).setBail(outcome.bail);
  });

  // A plugin (policy pack, PulumiPlugin.yaml provider) runs as our child; its output goes back
  // over the stream, where the engine reads the plugin's port from the first stdout line.
  private readonly runPlugin = (
    call: grpcTypes.ServerWritableStream<languagePb.RunPluginRequest, languagePb.RunPluginResponse>,
  ): void => {
    const req = call.request;
    let launch: Launch;
    try {
      launch = planPlugin(
        { kind: req.getKind(), info: toInfo(req.getInfo()), args: req.getArgsList(), env: req.getEnvList() },
        process.env,
        this.opts.nodePath,
        this.resolve,
      );
    } catch (err) {
      call.destroy(failure(err));
      return;
    }
    const child = this.start(launch, "pipe");
    child.stdout?.on("data", (chunk: Buffer) => call.write(new language.RunPluginResponse().setStdout(chunk)));
    child.stderr?.on("data", (chunk: Buffer) => call.write(new language.RunPluginResponse().setStderr(chunk)));
    // The engine cancels the stream to stop the plugin.
    call.on("cancelled", () => child.kill("SIGTERM"));
    child.on("error", (err) => call.destroy(failure(err)));
    child.on("close", (code, signal) => {
      if (call.cancelled) return;
      // A signal death reads as the shell would report it (128 + number).
      const exit = code ?? 128 + (signal !== null ? constants.signals[signal] : 0);
      call.write(new language.RunPluginResponse().setExitcode(exit));
      call.end();
    });
  };

  private readonly installDependencies = (
    call: grpcTypes.ServerWritableStream<
      languagePb.InstallDependenciesRequest,
      languagePb.InstallDependenciesResponse
    >,
  ): void => {
    // Installing is `npm ci`'s job (lockfile, no network surprises at deploy time).
    call.end();
  };

  private readonly about = unary(() =>
    new language.AboutResponse().setExecutable(this.opts.nodePath).setVersion(process.version),
  );

  private readonly getProgramDependencies = unary((req: languagePb.GetProgramDependenciesRequest) => {
    const info = toInfo(req.getInfo());
    const res = new language.GetProgramDependenciesResponse();
    for (const d of programDependencies(info.programDirectory)) {
      res.addDependencies(new language.DependencyInfo().setName(d.name).setVersion(d.version));
    }
    return res;
  });

  // The engine asks before shutting us down; the programs stop on their own once the engine
  // stops answering, and main.ts stops whatever is left when the engine interrupts us.
  private readonly cancel = unary(() => new Empty());

  /** The service implementation for grpc.Server#addService. */
  implementation(): grpcTypes.UntypedServiceImplementation {
    return {
      handshake: this.handshake,
      getPluginInfo: this.getPluginInfo,
      getRequiredPlugins: this.getRequiredPlugins,
      getRequiredPackages: this.getRequiredPackages,
      run: this.run,
      runPlugin: this.runPlugin,
      installDependencies: this.installDependencies,
      about: this.about,
      getProgramDependencies: this.getProgramDependencies,
      cancel: this.cancel,
    } as grpcTypes.UntypedServiceImplementation;
  }
}

export const LanguageRuntimeService = languageGrpc.LanguageRuntimeService;
