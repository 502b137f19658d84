/** A deployment as selection sees it. */
export interface Candidate {
  weight: number;
  inFlight: number;
}

export type SelectionStrategy = "least_in_flight" | "weighted_random";

/**
 * Picks one of the candidates (already filtered to those available): the fewest requests in
 * flight, ties to the heavier weight and then in turn; or at random in proportion to weight.
 */
export class DeploymentSelector {
  private picks = 0;
  /** When each candidate was last picked: equal ones take turns by it, whatever else is picked between. */
  private readonly lastPicked = new WeakMap<Candidate, number>();

  constructor(
    private readonly strategy: SelectionStrategy,
    private readonly random: () => number = Math.random,
  ) {}

  pick<T extends Candidate>(available: T[]): T | undefined {
    // Weight 0 is standby: used only when nothing weighted is available.
    const weighted = available.filter((c) => c.weight > 0);
    const candidates = weighted.length > 0 ? weighted : available;
    if (candidates.length <= 1) return candidates[0];
    return this.strategy === "weighted_random" ? this.weighted(candidates) : this.leastInFlight(candidates);
  }

  private leastInFlight<T extends Candidate>(candidates: T[]): T {
    let best: T[] = [];
    for (const candidate of candidates) {
      const leader = best[0];
      const better =
        leader === undefined ||
        candidate.inFlight < leader.inFlight ||
        (candidate.inFlight === leader.inFlight && candidate.weight > leader.weight);
      if (better) best = [candidate];
      else if (candidate.inFlight === leader.inFlight && candidate.weight === leader.weight)
        best.push(candidate);
    }
    // Equal candidates take turns (the one picked longest ago goes), so an idle group still spreads its load.
    let chosen = best[0] as T;
    for (const candidate of best) {
      if ((this.lastPicked.get(candidate) ?? -1) < (this.lastPicked.get(chosen) ?? -1)) chosen = candidate;
    }
    this.lastPicked.set(chosen, this.picks++);
    return chosen;
  }

  private weighted<T extends Candidate>(candidates: T[]): T {
    const total = candidates.reduce((sum, c) => sum + c.weight, 0);
    if (total === 0) return candidates[Math.floor(this.random() * candidates.length)] as T;
    let point = this.random() * total;
    for (const candidate of candidates) {
      point -= candidate.weight;
      if (point < 0) return candidate;
    }
    return candidates[candidates.length - 1] as T;
  }
}
