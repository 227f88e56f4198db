// `bulkhead firewall <layout> <qube>`: one qube's rules as `qvm-firewall <qube> list` prints them.
import { reportInvalid } from "./check";
import { load, UserError } from "./command";
import { firewallTable } from "./listing";

export async function runFirewall(path: string, qube: string): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  if (!loaded.layout.qubes.some((q) => q.name === qube)) {
    const names = loaded.layout.qubes.map((q) => q.name).join(", ");
    throw new UserError(`${JSON.stringify(qube)} is not a qube of ${path} (its qubes: ${names})`);
  }
  process.stdout.write(firewallTable(loaded.layout, qube));
  return 0;
}
