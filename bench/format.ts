import type { Measure } from "./stats.js";

/** Number formatting for the report: a median with its range across rounds. */

export function num(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "4,120 (3,990–4,200)": the median over rounds, then the lowest and highest round. */
export function spread(m: Measure, digits = 0, scale = 1): string {
  if (m.rounds.length <= 1) return num(m.median * scale, digits);
  return `${num(m.median * scale, digits)} (${num(m.min * scale, digits)}–${num(m.max * scale, digits)})`;
}

/** A ratio such as "×3.41 (3.20–3.66)". */
export function ratio(m: Measure, digits = 2): string {
  return `×${spread(m, digits)}`;
}

export const MiB = 1024 * 1024;
