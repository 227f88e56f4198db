// Preloaded (`node --require`) into each `bulkhead check` that bench/check.ts times: writes
// the process's own CPU time at exit to the file BULKHEAD_BENCH_CPU names, so a row can say
// how much of its wall time was the check's own work on a machine other jobs share.
import { writeFileSync } from "node:fs";

const file = process.env.BULKHEAD_BENCH_CPU;
if (file !== undefined && file !== "") {
  process.on("exit", () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ userS: user / 1e6, systemS: system / 1e6 }));
  });
}
