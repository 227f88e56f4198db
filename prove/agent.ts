// qemu-guest-agent, reached through libvirt (`virsh qemu-agent-command`): run a
// program in a running guest with an argument array (guest-exec), collect its
// exit code and output (guest-exec-status, base64). Used by `bulkhead prove` to
// probe guests in place instead of restarting them with a probes seed, and by
// `npm run up` to know when a stock guest has finished cloud-init.
import { virsh } from "../libvirt/virsh";

export interface ExecResult {
  exitcode: number;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One agent command; resolves to its `return` value. `timeoutS`: how long the agent may take to answer. */
export async function agentCommand(uri: string, domain: string, command: Record<string, unknown>, timeoutS = 10): Promise<unknown> {
  const out = await virsh(uri, ["qemu-agent-command", "--domain", domain, "--timeout", String(timeoutS), "--cmd", JSON.stringify(command)], {
    timeoutMs: (timeoutS + 20) * 1000,
  });
  return (JSON.parse(out) as { return?: unknown }).return;
}

interface ExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  "out-data"?: string;
  "err-data"?: string;
}

/** The guest-exec request for `path` with `args` (an argument array, never a shell line) and optional stdin. */
export function execRequest(path: string, args: readonly string[], input?: string): Record<string, unknown> {
  const request: Record<string, unknown> = { path, arg: [...args], "capture-output": true };
  if (input !== undefined) request["input-data"] = Buffer.from(input, "utf8").toString("base64");
  return { execute: "guest-exec", arguments: request };
}

/** Decodes a finished guest-exec-status reply. */
export function execResult(status: ExecStatus): ExecResult {
  const decode = (b64: string | undefined) => (b64 === undefined ? "" : Buffer.from(b64, "base64").toString("utf8"));
  return { exitcode: status.exitcode ?? (status.signal === undefined ? -1 : 128 + status.signal), stdout: decode(status["out-data"]), stderr: decode(status["err-data"]) };
}

/** Runs `path args…` in the guest and waits up to `timeoutS` for it to exit. */
export async function guestExec(uri: string, domain: string, path: string, args: readonly string[], opts: { input?: string; timeoutS?: number } = {}): Promise<ExecResult> {
  const timeoutS = opts.timeoutS ?? 60;
  const started = (await agentCommand(uri, domain, execRequest(path, args, opts.input))) as { pid: number };
  const t0 = Date.now();
  let pause = 250;
  for (;;) {
    const status = (await agentCommand(uri, domain, { execute: "guest-exec-status", arguments: { pid: started.pid } })) as ExecStatus;
    if (status.exited) return execResult(status);
    if (Date.now() - t0 > timeoutS * 1000) throw new Error(`${domain}: ${path} did not exit within ${timeoutS} s (guest pid ${started.pid})`);
    await sleep(pause);
    pause = Math.min(pause * 2, 1000);
  }
}

/**
 * Which probe runner a guest with an agent has: "lab" for the lab's busybox
 * image (its own runner /lib/bulkhead/probes and its ready marker
 * /run/bulkhead/ready, as a probes seed would use them at boot), "stock" for
 * any other image (cloud-init, and AGENT_PROBES run by bash).
 */
export type AgentFlavour = "lab" | "stock";

/** The lab image's runner and its ready marker (lab/guest/probes, lab/guest/qube-ready). */
export const LAB_RUNNER = "/lib/bulkhead/probes";
const LAB_READY = "/run/bulkhead/ready";

/** Asks the guest which runner it has (a file test, no value of ours in the program text). */
async function flavourOf(uri: string, domain: string): Promise<AgentFlavour> {
  const r = await guestExec(uri, domain, "/bin/sh", ["-c", 'test -x "$0" && test -d "${1%/*}"', LAB_RUNNER, LAB_READY], { timeoutS: 30 });
  return r.exitcode === 0 ? "lab" : "stock";
}

/**
 * Waits until the guest's agent answers and the guest is ready: on a stock
 * guest its cloud-init has finished (`cloud-init status --wait`: the seed
 * applied, the provider ruleset loaded; throws with cloud-init's own words
 * when it reports an error); on a lab guest its init printed `bulkhead: ready`
 * (the seed applied, the services listening). Resolves to the guest's flavour.
 */
export async function agentReady(uri: string, domain: string, timeoutS: number): Promise<AgentFlavour> {
  const t0 = Date.now();
  const left = () => timeoutS - (Date.now() - t0) / 1000;
  let last = "";
  while (left() > 0) {
    try {
      await agentCommand(uri, domain, { execute: "guest-ping" }, 5);
      break;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      await sleep(1000);
    }
  }
  if (left() <= 0) throw new Error(`${domain}: the guest agent did not answer within ${timeoutS} s (${last})`);
  const flavour = await flavourOf(uri, domain);
  if (flavour === "lab") {
    // One exec that waits in the guest (tenths of a second, bounded) rather than one round trip per look.
    const tenths = String(Math.max(10, Math.round(left() * 10)));
    const r = await guestExec(uri, domain, "/bin/sh", ["-c", 'i=0; while [ ! -e "$0" ] && [ "$i" -lt "$1" ]; do sleep 0.1; i=$((i + 1)); done; test -e "$0"', LAB_READY, tenths], {
      timeoutS: Math.max(10, left()),
    });
    if (r.exitcode !== 0) throw new Error(`${domain}: the guest agent answers but the guest did not print "bulkhead: ready" within ${timeoutS} s`);
    return flavour;
  }
  const r = await guestExec(uri, domain, "/usr/bin/cloud-init", ["status", "--wait", "--long"], { timeoutS: Math.max(10, left()) });
  if (r.exitcode !== 0) throw new Error(`${domain}: cloud-init status --wait exited ${r.exitcode}: ${(r.stdout + r.stderr).trim().split("\n").slice(-6).join(" | ")}`);
  return flavour;
}

/**
 * The probe runner for stock Debian guests, run by bash through the agent:
 * the same probes.txt format and the same output as the lab guest's
 * lab/guest/probes (one `bulkhead-probe <id> <word>` line per line, then
 * `bulkhead: probes done`), with what a minbase Debian image has: bash's
 * /dev/tcp and /dev/udp, coreutils' timeout, and iputils-ping (the one probe
 * tool in the image's package list). probes.txt arrives on stdin and the
 * deadline as $1, so no value is ever part of the program text. Storage:
 * root = /var/lib/bulkhead/marks on the root disk, private = /rw/bulkhead/marks
 * (the private volume the seed mounts), lib = /usr/lib (the template's files).
 */
export const AGENT_PROBES = String.raw`set -u
deadline=$1
case "$deadline" in '' | *[!0-9]*) deadline=20 ;; esac
input=$(cat)
attempt() { # <proto> <host> <port>
	case "$1" in
	icmp) ping -n -c 1 -W 3 "$2" >/dev/null 2>&1 ;;
	tcp) timeout 6 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" >/dev/null 2>&1 ;;
	udp) timeout 6 bash -c 'exec 3<>"/dev/udp/$0/$1" || exit 1
		if [ "$1" = 53 ]; then printf "\264\264\001\000\000\001\000\000\000\000\000\000\000\000\002\000\001" >&3
		else printf "bulkhead-probe\n" >&3; fi
		IFS= read -r -t 3 -N 1 _ <&3' "$2" "$3" >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}
probe() { # <id> <proto> <host> <port>
	local pause=1
	while :; do
		if attempt "$2" "$3" "$4"; then echo "bulkhead-probe $1 pass"; return 0; fi
		if [ $((SECONDS + pause)) -ge "$end" ]; then echo "bulkhead-probe $1 blocked"; return 0; fi
		sleep "$pause"
		[ "$pause" -ge 5 ] || pause=$((pause + 1))
	done
}
mark_dir() {
	case "$1" in root) echo /var/lib/bulkhead/marks ;; private) echo /rw/bulkhead/marks ;; lib) echo /usr/lib ;; esac
}
storage() { # <id> write|exists <scope> <name>
	local dir
	dir=$(mark_dir "$3")
	if [ "$2" = write ]; then
		if [ "$3" = private ] && ! awk '$2 == "/rw" { f = 1 } END { exit !f }' /proc/mounts; then
			echo "bulkhead-probe $1 failed"
		elif mkdir -p "$dir" && echo "$1" >"$dir/$4" && sync; then
			echo "bulkhead-probe $1 written"
		else
			echo "bulkhead-probe $1 failed"
		fi
	elif [ -e "$dir/$4" ]; then
		echo "bulkhead-probe $1 present"
	else
		echo "bulkhead-probe $1 absent"
	fi
}
valid_id() { [[ "$1" =~ ^[A-Za-z0-9_.:-]{1,64}$ ]]; }
while read -r id op scope name extra; do
	case "$op" in write | exists) ;; *) continue ;; esac
	if valid_id "$id" && [ -z "$extra" ] && [[ "$name" =~ ^[a-z0-9-]{1,64}$ ]] && [[ "$op:$scope" =~ ^(write:root|write:private|exists:root|exists:private|exists:lib)$ ]]; then
		storage "$id" "$op" "$scope" "$name"
	else
		echo "bulkhead: error: invalid storage line skipped"
	fi
done <<<"$input"
end=$((SECONDS + deadline))
while read -r id proto host port extra; do
	case "$id" in '' | '#'*) continue ;; esac
	case "$proto" in write | exists) continue ;; esac
	ok=1
	valid_id "$id" || ok=0
	[[ "$host" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || ok=0
	[ -z "$extra" ] || ok=0
	case "$proto" in
	tcp | udp) [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || ok=0 ;;
	icmp) [ -z "$port" ] || ok=0 ;;
	*) ok=0 ;;
	esac
	if [ "$ok" = 0 ]; then echo "bulkhead: error: invalid probe line skipped"; continue; fi
	probe "$id" "$proto" "$host" "$port" &
done <<<"$input"
wait
echo "bulkhead: probes done"
`;

/**
 * Runs probes.txt (prove/plan.ts's format) in a running guest through its
 * agent, all of one source's probes in one guest-exec; resolves to the
 * runner's output. A lab guest runs its own runner (`probes - <deadline>`,
 * probes.txt on stdin: the same probes a probes seed runs at boot), a stock
 * guest AGENT_PROBES under bash.
 */
export async function agentProbes(uri: string, domain: string, probesTxt: string, deadline: number, timeoutS: number, flavour: AgentFlavour = "stock"): Promise<string> {
  const [path, args] = flavour === "lab" ? [LAB_RUNNER, ["-", String(deadline)]] : ["/bin/bash", ["-c", AGENT_PROBES, "bulkhead-probes", String(deadline)]];
  const r = await guestExec(uri, domain, path, args, { input: probesTxt, timeoutS });
  if (r.exitcode !== 0) throw new Error(`${domain}: the probe runner exited ${r.exitcode}: ${r.stderr.trim().slice(-400)}`);
  return r.stdout;
}
