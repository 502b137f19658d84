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

/** The windows' names and ends, worked out once per minute: every call asks for them. */
let current:
  | { minuteStart: number; minute: string; day: string; month: string; dayEnd: number; monthEnd: number }
  | undefined;

export function windowsAt(now: number): QuotaWindows {
  const minuteStart = now - (now % 60_000);
  if (current?.minuteStart !== minuteStart) {
    const date = new Date(minuteStart);
    const iso = date.toISOString();
    const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
    current = {
      minuteStart,
      minute: iso.slice(0, 16),
      day: iso.slice(0, 10),
      month: iso.slice(0, 7),
      dayEnd: Date.UTC(year, month, day + 1),
      monthEnd: Date.UTC(year, month + 1, 1),
    };
  }
  return {
    minute: current.minute,
    day: current.day,
    month: current.month,
    untilMinuteEnd: minuteStart + 60_000 - now,
    untilDayEnd: current.dayEnd - now,
    untilMonthEnd: current.monthEnd - now,
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
