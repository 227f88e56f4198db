// `bulkhead graph <layout> [-o file] [--format svg|dot]`: the layout as a picture (render/graph.ts).
import { writeFileSync } from "node:fs";
import { layoutToDot, renderSvg } from "../render/graph";
import { reportInvalid } from "./check";
import { load, UserError } from "./command";

export async function runGraph(path: string, opts: { output?: string; format: "svg" | "dot" }): Promise<number> {
  const loaded = load(path);
  if ("issues" in loaded) return reportInvalid(path, loaded.issues);
  const dot = layoutToDot(loaded.layout);
  const text = opts.format === "dot" ? dot : await renderSvg(dot);
  if (opts.output === undefined) {
    process.stdout.write(text);
  } else {
    try {
      writeFileSync(opts.output, text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "write failed";
      throw new UserError(`cannot write ${JSON.stringify(opts.output)}: ${code}`);
    }
  }
  return 0;
}
