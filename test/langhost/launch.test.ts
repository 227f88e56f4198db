// The language host's command planning, without an engine: exact argv and environment.
import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../langhost/main";
import {
  envFromList,
  planPlugin,
  planRun,
  pluginPositionals,
  runOutcome,
  runtimeOptions,
  type ProgramInfo,
  type Resolve,
} from "../../langhost/launch";

const resolve: Resolve = (request, from) => `${from}/node_modules/${request}/index.js`;

const info = (options: Record<string, unknown>): ProgramInfo => ({
  rootDirectory: "/p",
  programDirectory: "/p/src",
  entryPoint: ".",
  options,
});

const runInput = {
  monitorAddress: "127.0.0.1:1",
  engineAddress: "127.0.0.1:2",
  organization: "organization",
  project: "toy",
  stack: "dev",
  pwd: "/p/src",
  dryRun: true,
  parallel: 8,
  tracing: undefined,
  args: ["extra"],
  config: { "toy:size": "20" },
  configSecretKeys: ["toy:secret"],
};

describe("runtimeOptions", () => {
  it("defaults TypeScript on, like Pulumi's own host", () => {
    expect(runtimeOptions({})).toEqual({ typescript: true, tsconfig: undefined, nodeargs: [] });
  });
  it("reads typescript: false, tsconfig and nodeargs", () => {
    expect(runtimeOptions({ typescript: false, tsconfig: "tsconfig.pulumi.json", nodeargs: " --a  --b=1 " })).toEqual({
      typescript: false,
      tsconfig: "tsconfig.pulumi.json",
      nodeargs: ["--a", "--b=1"],
    });
  });
});

describe("planRun", () => {
  it("runs @pulumi/pulumi/cmd/run from the program's own node_modules with the engine's settings", () => {
    const launch = planRun(
      { ...runInput, info: info({ typescript: true, tsconfig: "tsconfig.x.json" }) },
      { PATH: "/bin", PULUMI_NODEJS_TYPESCRIPT: "false" },
      "/usr/bin/node",
      resolve,
    );
    expect(launch).toEqual({
      file: "/usr/bin/node",
      args: [
        "/p/src/node_modules/@pulumi/pulumi/cmd/run/index.js",
        "--monitor", "127.0.0.1:1",
        "--engine", "127.0.0.1:2",
        "--organization", "organization",
        "--project", "toy",
        "--root-directory", "/p",
        "--stack", "dev",
        "--pwd", "/p/src",
        "--dry-run",
        "--parallel", "8",
        ".",
        "extra",
      ],
      cwd: "/p/src",
      env: {
        PATH: "/bin",
        PULUMI_CONFIG: '{"toy:size":"20"}',
        PULUMI_CONFIG_SECRET_KEYS: '["toy:secret"]',
        PULUMI_NODEJS_TYPESCRIPT: "true",
        PULUMI_NODEJS_TSCONFIG_PATH: "tsconfig.x.json",
      },
    });
  });

  it("leaves out empty values, --dry-run on updates, and TypeScript when the project turns it off", () => {
    const launch = planRun(
      {
        ...runInput,
        organization: "",
        dryRun: false,
        tracing: "http://t",
        info: { ...info({ typescript: false, nodeargs: "--inspect" }), entryPoint: "main.js" },
        args: [],
      },
      { PULUMI_NODEJS_TYPESCRIPT: "true" },
      "node",
      resolve,
    );
    expect(launch.args).toEqual([
      "--inspect",
      "/p/src/node_modules/@pulumi/pulumi/cmd/run/index.js",
      "--monitor", "127.0.0.1:1",
      "--engine", "127.0.0.1:2",
      "--project", "toy",
      "--root-directory", "/p",
      "--stack", "dev",
      "--pwd", "/p/src",
      "--parallel", "8",
      "--tracing", "http://t",
      "main.js",
    ]);
    expect(launch.env).toEqual({ PULUMI_CONFIG: '{"toy:size":"20"}', PULUMI_CONFIG_SECRET_KEYS: '["toy:secret"]' });
  });
});

describe("runOutcome", () => {
  it("maps exit codes to RunResponse", () => {
    expect(runOutcome(0, null)).toEqual({ error: "", bail: false });
    expect(runOutcome(32, null)).toEqual({ error: "", bail: true });
    expect(runOutcome(1, null)).toEqual({ error: "Program exited with non-zero exit code: 1", bail: false });
    expect(runOutcome(null, "SIGKILL")).toEqual({ error: "Program was terminated by signal SIGKILL", bail: false });
  });
});

describe("plugins", () => {
  it("keeps only positional arguments", () => {
    expect(pluginPositionals(["--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:5"])).toEqual([
      "127.0.0.1:5",
    ]);
  });

  it("splits K=V entries at the first '='", () => {
    expect(envFromList(["A=1", "B=x=y", "C=", "=bad", "noequals"])).toEqual({ A: "1", B: "x=y", C: "" });
  });

  it("runs a policy pack with run-policy-pack <engine> <pack dir> in the pack's directory", () => {
    const launch = planPlugin(
      {
        kind: "analyzer",
        info: { rootDirectory: "/pack", programDirectory: "/pack", entryPoint: ".", options: {} },
        args: ["--logtostderr", "127.0.0.1:5"],
        env: ["PATH=/bin", "X=1"],
      },
      { IGNORED: "yes" },
      "node",
      resolve,
    );
    expect(launch).toEqual({
      file: "node",
      args: ["/pack/node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js", "127.0.0.1:5", "/pack"],
      cwd: "/pack",
      env: { PATH: "/bin", X: "1" },
    });
  });

  it("runs other plugins with run-plugin <dir> …args, in the host's environment when none is sent", () => {
    const launch = planPlugin(
      {
        kind: "resource",
        info: { rootDirectory: "/prov", programDirectory: "/prov", entryPoint: ".", options: {} },
        args: ["127.0.0.1:5"],
        env: [],
      },
      { PATH: "/bin" },
      "node",
      resolve,
    );
    expect(launch).toEqual({
      file: "node",
      args: ["/prov/node_modules/@pulumi/pulumi/cmd/run-plugin/index.js", "/prov", "127.0.0.1:5"],
      cwd: "/prov",
      env: { PATH: "/bin" },
    });
  });

  it("refuses a policy pack without an engine address", () => {
    expect(() =>
      planPlugin(
        { kind: "analyzer", info: info({}), args: ["--logtostderr"], env: [] },
        {},
        "node",
        resolve,
      ),
    ).toThrow("the engine gave a policy pack no engine address");
  });
});

describe("parseCommandLine", () => {
  it("takes the last positional as the engine address and keeps --tracing", () => {
    expect(parseCommandLine(["--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:7"])).toEqual({
      engineAddress: "127.0.0.1:7",
      tracing: "http://t",
    });
    expect(parseCommandLine(["--tracing=http://u"])).toEqual({ engineAddress: "", tracing: "http://u" });
  });
});
