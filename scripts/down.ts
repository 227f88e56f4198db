// `npm run down`: destroys the stack (default `dev`) on its host. The lab
// itself keeps running; `npm run lab:stop` takes it away.
import { engineDir, lockStack, pulumi, selectStack } from "../deploy/engine";
import { recoverInterrupted, stateResources } from "../deploy/recovery";
import { Steps, keptDataLines } from "./up";

export async function main(argv: string[]): Promise<number> {
  const stack = argv[0] ?? process.env["BULKHEAD_STACK"] ?? "dev";
  const unlock = lockStack(stack, `npm run down ${stack}`);
  try {
    return await destroy(stack);
  } finally {
    unlock();
  }
}

async function destroy(stack: string): Promise<number> {
  const steps = new Steps(2);
  let done = steps.start("Pulumi engine");
  await engineDir();
  await selectStack(stack);
  for (const line of await recoverInterrupted(stack)) console.log(`      interrupted run: ${line}`);
  done();
  done = steps.start(`pulumi destroy (${stack})`);
  const before = await stateResources(stack);
  const r = await pulumi(["destroy", "--yes", "--stack", stack]);
  if (r.code !== 0) {
    console.error(`pulumi destroy failed (exit ${String(r.code)}); run \`npm run down\` again once the cause is fixed`);
    return 1;
  }
  done();
  for (const line of keptDataLines(before, await stateResources(stack))) console.log(`      ${line}`);
  console.log(`stack ${stack} destroyed in ${steps.elapsed()} s; the lab is still running (\`npm run lab:stop\` removes it)`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`down: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
