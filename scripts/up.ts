// `npm run up`: the main job. Starts the embedded lab unless the stack names
// another host, runs `pulumi up` for the stack (default `dev`) with the
// project's provider and policy pack on the local backend, waits until every
// autostart qube has booted, and prints a summary and where the picture is.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { layoutToDot, renderSvg } from "../render/graph";
import type { QubeOutputs } from "../components/layout";
import { domainName, serialLogPath } from "../components/naming";
import { agentReady } from "../prove/agent";
import { LAB_URI, startLab, usesStockImage } from "../lab/lab";
import { loadLayout } from "../layout/load";
import { virsh } from "../libvirt/virsh";
import { REPO, WORK_DIR, engineDir, lockStack, mustPulumi, pulumi, selectStack } from "../deploy/engine";
import { keptVolumes, missingOnHost, recoverInterrupted, stateResources, type StateResource } from "../deploy/recovery";

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
        (flavour) => progress(`${d} ready after ${((Date.now() - t0) / 1000).toFixed(0)} s (guest agent: ${flavour === "stock" ? "cloud-init done" : "bulkhead: ready"})`),
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

export interface Summary {
  text: string;
  /** Qubes of the stack whose domain the host does not hold. */
  missing: string[];
}

export async function summary(t: StackTarget, qubes: Record<string, QubeOutputs>, local: boolean): Promise<Summary> {
  const rows = [["qube", "class", "state", "address", "netvm"]];
  const missing: string[] = [];
  for (const [name, q] of Object.entries(qubes)) {
    const addr = q.ip ?? (local ? consoleAddress(q.name) : undefined) ?? "-";
    const state = await domstate(t.uri, q.name);
    if (state === "missing") missing.push(name);
    rows.push([name, q.class, state, addr, q.netvm ?? "-"]);
  }
  return { text: table(rows), missing };
}

/** What `up` and `down` say about data they kept: volumes the state forgot and the host still holds. */
export function keptDataLines(before: readonly StateResource[], after: readonly StateResource[]): string[] {
  return keptVolumes(before, after).map(
    (v) =>
      `kept ${v.name} in pool ${v.pool}: a qube's data (its qube left the layout or the stack); the next \`up\` of a qube with that volume takes it back; ` +
      `to delete it: virsh -c ${v.uri} vol-delete --pool ${v.pool} --vol ${v.name}`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const stack = argv.find((a) => !a.startsWith("--")) ?? process.env["BULKHEAD_STACK"] ?? "dev";
  const unlock = lockStack(stack, `npm run up ${stack}`);
  try {
    return await deploy(stack, argv);
  } finally {
    unlock();
  }
}

async function deploy(stack: string, argv: string[]): Promise<number> {
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

  // The state may be stale: objects removed behind its back (a wiped lab, a hand-deleted
  // volume). A few list calls tell; then the engine refreshes first and recreates them.
  const before = await stateResources(stack);
  const gone = await missingOnHost(before);
  const refresh = gone.length > 0 || argv.includes("--refresh");
  if (gone.length > 0) {
    const shown = gone.length > 6 ? `${gone.slice(0, 6).join(", ")} and ${gone.length - 6} more` : gone.join(", ");
    console.log(`      the host lacks ${gone.length} object(s) the state holds (${shown}): refreshing first`);
  }
  done = steps.start(`pulumi up${refresh ? " --refresh" : ""} (${stack}, layout ${t.layoutPath}, policy pack policies)`);
  const up = await pulumi(["up", "--yes", ...(refresh ? ["--refresh"] : []), "--stack", stack, "--policy-pack", join(REPO, "policies")]);
  if (up.code !== 0) {
    console.error(`pulumi up failed (exit ${String(up.code)}); the stack keeps what was made; fix the cause and run \`npm run up\` again`);
    return 1;
  }
  done();
  const kept = keptDataLines(before, await stateResources(stack));

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
  const sum = await summary(t, qubes, local);
  console.log(sum.text);
  if (kept.length > 0) console.log(`\n${kept.join("\n")}`);
  done();
  console.log(`\nlayout picture: ${relative(process.cwd(), picture) || picture}`);
  const problems: string[] = [];
  if (sum.missing.length > 0) problems.push(`the host has no domain for ${sum.missing.join(", ")}, which the stack holds (run \`npm run up -- ${stack} --refresh\`)`);
  if (late.length > 0) problems.push(`not ready within ${BOOT_TIMEOUT_S} s: ${late.join(", ")} (serial logs: ${late.map(serialLogPath).join(" ")})`);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`stack ${stack} is NOT up at ${t.uri} (${steps.elapsed()} s)`);
    return 1;
  }
  console.log(`stack ${stack} is up at ${t.uri} in ${steps.elapsed()} s; \`npm run down\` destroys it (keeping the qubes' data), \`npm run lab:stop\` removes the lab`);
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
