import { describe, expect, it } from "vitest";
import { type Candidate, DeploymentSelector } from "../../src/router/deployment-selector.js";

interface Named extends Candidate {
  name: string;
}

const d = (name: string, weight: number, inFlight = 0): Named => ({ name, weight, inFlight });

/** A random source returning `values` in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

function tally(picks: (Named | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const pick of picks) if (pick) counts[pick.name] = (counts[pick.name] ?? 0) + 1;
  return counts;
}

describe.each(["least_in_flight", "weighted_random"] as const)("%s with few candidates", (strategy) => {
  it("picks nothing from nothing, and the one from one", () => {
    const selector = new DeploymentSelector(strategy, () => 0.99);
    const only = d("only", 0, 7);
    expect(selector.pick([])).toBeUndefined();
    expect(selector.pick([only])).toBe(only);
  });
});

describe("least_in_flight", () => {
  it("picks the deployment with the fewest requests in flight, whatever the weights", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const busy = d("busy", 10, 5);
    const idle = d("idle", 1, 1);
    const middle = d("middle", 5, 3);
    for (let i = 0; i < 5; i++) expect(selector.pick([busy, idle, middle])).toBe(idle);
  });

  it("breaks a tie in flight by the heavier weight, every time", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const light = d("light", 1, 2);
    const heavy = d("heavy", 3, 2);
    const busyHeavier = d("busy", 9, 3);
    for (let i = 0; i < 6; i++) expect(selector.pick([light, heavy, busyHeavier])).toBe(heavy);
  });

  it("lets equal candidates take turns", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const group = [d("a", 1), d("b", 1), d("c", 1)];
    const picks = Array.from({ length: 9 }, () => selector.pick(group));
    expect(tally(picks)).toEqual({ a: 3, b: 3, c: 3 });
    // In turn: no candidate twice in a row.
    for (let i = 1; i < picks.length; i++) expect(picks[i]).not.toBe(picks[i - 1]);
  });

  it("rotates only among the best, leaving out the heavier-loaded and the lighter-weighted", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const group = [d("a", 2), d("b", 2), d("light", 1), d("busy", 2, 1)];
    expect(tally(Array.from({ length: 6 }, () => selector.pick(group)))).toEqual({ a: 3, b: 3 });
  });

  it("treats a zero weight as the weakest tie-break", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const standby = d("standby", 0, 0);
    const main = d("main", 1, 0);
    for (let i = 0; i < 4; i++) {
      expect(selector.pick([standby, main])).toBe(main);
      expect(selector.pick([main, standby])).toBe(main);
    }
    expect(selector.pick([standby])).toBe(standby);
  });

  // Regression: one turn counter shared by every group let picks elsewhere starve one of two equals.
  it("keeps equal candidates taking turns when other groups are picked from in between", () => {
    const selector = new DeploymentSelector("least_in_flight");
    const group = [d("a", 1), d("b", 1)];
    const other = [d("x", 2), d("y", 1)];
    const picks: (Named | undefined)[] = [];
    for (let i = 0; i < 10; i++) {
      picks.push(selector.pick(group));
      selector.pick(other);
    }
    expect(tally(picks)).toEqual({ a: 5, b: 5 });
  });
});

describe("weighted_random", () => {
  it("cuts [0, total) into spans as wide as the weights", () => {
    const heavy = d("heavy", 3);
    const light = d("light", 1);
    const points = [0, 0.5, 0.7499, 0.75, 0.9, 0.999_999];
    const selector = new DeploymentSelector("weighted_random", sequence(...points));
    const picks = points.map(() => selector.pick([heavy, light])?.name);
    expect(picks).toEqual(["heavy", "heavy", "heavy", "light", "light", "light"]);
  });

  it("ignores requests in flight", () => {
    const selector = new DeploymentSelector("weighted_random", () => 0.1);
    const busy = d("busy", 1, 50);
    expect(selector.pick([busy, d("idle", 1, 0)])).toBe(busy);
  });

  it("never picks a zero weight while another has weight", () => {
    const standby = d("standby", 0);
    const main = d("main", 2);
    for (const point of [0, 0.25, 0.5, 0.999_999]) {
      const selector = new DeploymentSelector("weighted_random", () => point);
      expect(selector.pick([standby, main])).toBe(main);
      expect(selector.pick([main, standby])).toBe(main);
    }
  });

  it("picks uniformly when every weight is zero", () => {
    const group = [d("a", 0), d("b", 0), d("c", 0)];
    const selector = new DeploymentSelector("weighted_random", sequence(0, 0.4, 0.7, 0.999_999));
    expect([1, 2, 3, 4].map(() => selector.pick(group)?.name)).toEqual(["a", "b", "c", "c"]);
  });

  it("holds the weights over many picks with the real random", () => {
    const selector = new DeploymentSelector("weighted_random");
    const group = [d("a", 3), d("b", 1)];
    const counts = tally(Array.from({ length: 20_000 }, () => selector.pick(group)));
    expect((counts.a ?? 0) / 20_000).toBeGreaterThan(0.73);
    expect((counts.a ?? 0) / 20_000).toBeLessThan(0.77);
  });
});
