import { describe, expect, it } from "vitest";
import { schedule } from "../../bench/baseline";

const steps = [
  { urn: "pool", after: [] },
  { urn: "vol-a", after: ["pool"] },
  { urn: "vol-b", after: ["pool"] },
  { urn: "vol-c", after: ["pool"] },
  { urn: "filter", after: [] },
  { urn: "domain", after: ["vol-a", "vol-b", "vol-c", "filter", "not-a-step"] },
];

async function trace(parallel: number, reverse: boolean): Promise<{ order: string[]; most: number }> {
  const order: string[] = [];
  let now = 0;
  let most = 0;
  await schedule(steps, parallel, reverse, async (s) => {
    most = Math.max(most, ++now);
    await new Promise((r) => setImmediate(r));
    order.push(s.urn);
    now--;
  });
  return { order, most };
}

describe("the baseline's scheduler", () => {
  it("runs each step after its dependencies, at most `parallel` at once", async () => {
    expect(await trace(2, false)).toEqual({ order: ["pool", "filter", "vol-a", "vol-b", "vol-c", "domain"], most: 2 });
    expect(await trace(8, false)).toEqual({ order: ["pool", "filter", "vol-a", "vol-b", "vol-c", "domain"], most: 4 });
  });

  it("removes in reverse: users before what they use", async () => {
    expect(await trace(8, true)).toEqual({ order: ["domain", "vol-a", "vol-b", "vol-c", "filter", "pool"], most: 4 });
  });

  it("runs serially with a parallelism of 1", async () => {
    expect((await trace(1, false)).most).toBe(1);
  });
});
