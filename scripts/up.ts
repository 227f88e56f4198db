// `npm run up`: the main job. Starts the embedded lab unless the stack names
// another host, runs `pulumi up` for the stack (default `dev`) with the
// project's provider and policy pack on the local backend, waits until every
// autostart qube has booted, and prints a summary and where the picture is.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { layoutToDot, renderSvg } from "../cli/graph";
import type { QubeOutputs } from "../components/layout";
import { domainName, serialLogPath } from "../components/naming";
import { agentReady } from "../prove/agent";
import { LAB_URI, startLab, usesStockImage } from "../lab/lab";
import { loadLayout } from "../layout/load";
import { virsh } from "../provider/virsh";
import { REPO, WORK_DIR, engineDir, mustPulumi, pulumi, recoverInterrupted, selectStack } from "./pulumi";

/**
 * How long autostart qubes get to be ready (TCG guests on a busy host are slow): 300 s for the
 * lab's busybox guests, 900 s when stock Debian guests (systemd, cloud-init in Python) boot.
 */
export function bootTimeout(stock: boolean): number {
  return Number(process.env["BULKHEAD_BOOT_TIMEOUT"] ?? (stock ? 900 : 300));
}

export class Steps {
  private n = 0;
  private readonly t0 = Date.now();
  constructor(private readonly total: number) {}
  start(what: string): () => void {
    const i = ++this.n;
    const t = Date.now();
    console.log(`[${i}/${this.total}] ${what}…`);
    return () => console.log(`[${i}/${this.total}] ${what}: done in ${((Date.now() - t) / 1000).toFixed(1)} s (total ${this.elapsed()} s)`);
  }
  elapsed(): string {
    return ((Date.now() - this.t0) / 1000).toFixed(1);
  }
}

export interface StackTarget {
  stack: string;
  /** Layout file, relative to the repo or absolute. */
  layoutPath: string;
  /** The URI the program deploys to: `bulkhead:uri` if set, else the layout's host.uri. */
  uri: string;
  /** True when the stack sets no `bulkhead:uri` of its own (the embedded lab serves it). */
  lab: boolean;
}

async function configValue(stack: string, key: string): Promise<string> {
  const r = await pulumi(["config", "get", key, "--stack", stack], { stream: false });
  return r.code === 0 ? r.stdout.trim() : "";
}

export async function target(stack: string): Promise<StackTarget> {
  const layoutPath = (await configValue(stack, "bulkhead:layout")) || `stacks/${stack}.yaml`;
  const configured = await configValue(stack, "bulkhead:uri");
  const layout = loadLayout(resolve(REPO, layoutPath));
  const noLab = process.env["BULKHEAD_NO_LAB"] === "1";
  return { stack, layoutPath, uri: configured || layout.host.uri, lab: configured === "" && !noLab };
}

export async function stackOutputs(stack: string): Promise<Record<string, QubeOutputs>> {
  const r = await mustPulumi(["stack", "output", "qubes", "--json", "--stack", stack], { stream: false });
  return JSON.parse(r.stdout) as Record<string, QubeOutputs>;
}

function serialLines(domain: string): string[] {
  const file = serialLogPath(domain);
  if (!existsSync(file)) return [];
  return readFileSync(file, "latin1").split(/\r\n|\r|\n/).map((l) => l.replace(/^.*?(?=bulkhead)/, ""));
}

/** The address a qube reported on its console (`bulkhead: up <qube> <addr>`). */
function consoleAddress(domain: string): string | undefined {
  const line = serialLines(domain).filter((l) => l.startsWith("bulkhead: up ")).pop();
  const addr = line?.split(/\s+/)[3];
  return addr === undefined || addr === "none" ? undefined : addr;
}

const isReady = (domain: string) => serialLines(domain).some((l) => l.trim() === "bulkhead: ready");

/**
 * Waits for `bulkhead: ready` on each domain's serial log, or, for the domains
 * in `agent.domains` (stock guests with qemu-guest-agent), for their agent to
 * answer and cloud-init to finish; returns those that did not make it.
 */
export async function waitReady(
  domains: string[],
  timeoutS: number,
  progress: (line: string) => void,
  agent: { uri: string; domains: ReadonlySet<string> } = { uri: LAB_URI, domains: new Set() },
): Promise<string[]> {
  const t0 = Date.now();
  const viaAgent = domains.filter((d) => agent.domains.has(d));
  const agentLate: string[] = [];
  const agentWait = Promise.all(
    viaAgent.map((d) =>
      agentReady(agent.uri, d, timeoutS).then(
        () => progress(`${d} ready after ${((Date.now() - t0) / 1000).toFixed(0)} s (guest agent: cloud-init done)`),
        (e: unknown) => {
          agentLate.push(d);
          progress(`${d}: ${e instanceof Error ? e.message : String(e)}`);
        },
      ),
    ),
  );
  const pending = new Set(domains.filter((d) => !agent.domains.has(d)));
  while (pending.size > 0 && Date.now() - t0 < timeoutS * 1000) {
    for (const d of [...pending]) {
      if (isReady(d)) {
        pending.delete(d);
        progress(`${d} ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 1000));
  }
  await agentWait;
  return [...pending, ...agentLate];
}

async function domstate(uri: string, domain: string): Promise<string> {
  return (await virsh(uri, ["domstate", "--domain", domain]).catch(() => "missing\n")).trim();
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export async function summary(t: StackTarget, qubes: Record<string, QubeOutputs>, local: boolean): Promise<string> {
  const rows = [["qube", "class", "state", "address", "netvm"]];
  for (const [name, q] of Object.entries(qubes)) {
    const addr = q.ip ?? (local ? consoleAddress(q.name) : undefined) ?? "-";
    rows.push([name, q.class, await domstate(t.uri, q.name), addr, q.netvm ?? "-"]);
  }
  return table(rows);
}

export async function main(argv: string[]): Promise<number> {
  const stack = argv[0] ?? process.env["BULKHEAD_STACK"] ?? "dev";
  const wait = !argv.includes("--no-wait");
  const steps = new Steps(6);

  let done = steps.start("Pulumi engine");
  await engineDir();
  await selectStack(stack);
  for (const line of await recoverInterrupted(stack)) console.log(`      interrupted run: ${line}`);
  const t = await target(stack);
  done();

  done = steps.start(t.lab ? `embedded lab host at ${LAB_URI}` : `host ${t.uri} (no lab: the stack sets bulkhead:uri)`);
  if (t.lab) {
    const stock = usesStockImage(loadLayout(resolve(REPO, t.layoutPath)).templates);
    const { timings } = await startLab({ progress: (l) => console.log(`      ${l}`), stock });
    console.log(`      ${timings.map((s) => `${s.step} ${s.seconds.toFixed(1)} s`).join(", ")}`);
  } else {
    await virsh(t.uri, ["version"]);
  }
  done();

  done = steps.start(`pulumi up (${stack}, layout ${t.layoutPath}, policy pack policies)`);
  const up = await pulumi(["up", "--yes", "--stack", stack, "--policy-pack", join(REPO, "policies")]);
  if (up.code !== 0) {
    console.error(`pulumi up failed (exit ${String(up.code)}); the stack keeps what was made; fix the cause and run \`npm run up\` again`);
    return 1;
  }
  done();

  const qubes = await stackOutputs(stack);
  const autostart = Object.values(qubes).filter((q) => q.autostart && q.class !== "TemplateVM").map((q) => q.name);
  const local = t.uri === LAB_URI || t.uri.startsWith("qemu:///");
  const layout = loadLayout(resolve(REPO, t.layoutPath));
  const agentTemplates = new Set(layout.templates.filter((x) => x.guestAgent === true).map((x) => x.name));
  const domains = new Set(layout.qubes.filter((q) => agentTemplates.has(q.rootTemplate)).map((q) => domainName(layout.host, q.name)));
  const BOOT_TIMEOUT_S = bootTimeout(domains.size > 0);
  done = steps.start(`waiting for ${autostart.length} autostart qube(s) to boot (up to ${BOOT_TIMEOUT_S} s)`);
  let late: string[] = [];
  if (!wait || !local) console.log(wait ? "      serial logs are on the remote host: not waiting" : "      --no-wait");
  else late = await waitReady(autostart, BOOT_TIMEOUT_S, (l) => console.log(`      ${l}`), { uri: t.uri, domains });
  done();

  done = steps.start("layout picture");
  mkdirSync(WORK_DIR, { recursive: true });
  const picture = join(WORK_DIR, `${stack}.svg`);
  writeFileSync(picture, await renderSvg(layoutToDot(loadLayout(resolve(REPO, t.layoutPath)))));
  done();

  done = steps.start("summary");
  console.log(await summary(t, qubes, local));
  done();
  console.log(`\nlayout picture: ${relative(process.cwd(), picture) || picture}`);
  console.log(`stack ${stack} is up at ${t.uri} in ${steps.elapsed()} s; \`npm run down\` destroys it, \`npm run lab:stop\` removes the lab`);
  if (late.length > 0) {
    console.error(`not ready within ${BOOT_TIMEOUT_S} s: ${late.join(", ")} (serial logs: ${late.map(serialLogPath).join(" ")})`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`up: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
