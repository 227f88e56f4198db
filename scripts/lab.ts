// `npm run lab:start` / `npm run lab:stop`: the embedded lab host on its own.
import { LAB_URI, labLeftovers, startLab, stopLab } from "../lab/lab";

async function main(cmd: string | undefined): Promise<number> {
  const t0 = Date.now();
  const progress = (line: string) => console.log(`  ${line}`);
  if (cmd === "start") {
    console.log("lab: starting (packages, libvirtd in netns bulkhead-lab, guest images, uplink, internet host)…");
    const { timings } = await startLab({ progress });
    for (const t of timings) console.log(`  ${t.step.padEnd(9)} ${t.seconds.toFixed(1)} s`);
    console.log(`lab: up at ${LAB_URI} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  }
  if (cmd === "stop") {
    console.log("lab: stopping…");
    await stopLab({ progress });
    const left = await labLeftovers();
    if (left.length > 0) {
      console.error(`lab: still there after stop: ${left.join(", ")}`);
      return 1;
    }
    console.log(`lab: stopped, nothing left, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  }
  console.error("usage: node dist/scripts/lab.js start|stop");
  return 2;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
