/**
 * The calendar windows quotas count in, in UTC: a minute for requests and tokens, a day or a month
 * for budgets and usage. Fixed windows: every replica names the same window for the same instant,
 * so they share one counter, and a caller refused is told exactly when its window ends.
 */
export interface QuotaWindows {
  /** e.g. "2026-12-02T15:31" */
  minute: string;
  /** e.g. "2026-12-02" */
  day: string;
  /** e.g. "2026-12" */
  month: string;
  /** ms until each window ends. */
  untilMinuteEnd: number;
  untilDayEnd: number;
  untilMonthEnd: number;
}

export function windowsAt(now: number): QuotaWindows {
  const iso = new Date(now).toISOString();
  const date = new Date(now);
  const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const monthEnd = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return {
    minute: iso.slice(0, 16),
    day: iso.slice(0, 10),
    month: iso.slice(0, 7),
    untilMinuteEnd: 60_000 - (now % 60_000),
    untilDayEnd: dayStart + 86_400_000 - now,
    untilMonthEnd: monthEnd - now,
  };
}

/** The days from `from` to `to` (both "YYYY-MM-DD", inclusive), at most `max` of them, the latest kept. */
export function daysBetween(from: string, to: string, max: number): string[] {
  const days: string[] = [];
  const first = Date.parse(`${from}T00:00:00Z`);
  for (let day = Date.parse(`${to}T00:00:00Z`); day >= first && days.length < max; day -= 86_400_000)
    days.push(new Date(day).toISOString().slice(0, 10));
  return days.reverse();
}
