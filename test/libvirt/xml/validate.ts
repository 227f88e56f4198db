// Runs libvirt's own schema check (virt-xml-validate) on rendered XML.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type SchemaName = "domain" | "network" | "nwfilter" | "storagepool" | "storagevol";

/** Resolves to virt-xml-validate's message (`<file> validates`); rejects with its stderr when the XML is invalid. */
export async function validateXml(xml: string, schema: SchemaName): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bhtest-xml-"));
  try {
    const file = join(dir, `${schema}.xml`);
    await writeFile(file, xml);
    return await new Promise((resolve, reject) => {
      execFile("virt-xml-validate", [file, schema], (error, stdout, stderr) => {
        if (error) reject(new Error(`virt-xml-validate ${schema}: ${stderr || stdout}`));
        else resolve(`${stdout}${stderr}`.replace(file, "<file>").trim());
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
