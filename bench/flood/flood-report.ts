import { errorCodeName } from "../../test/support/h2-attacker/index.js";
import { num } from "../format.js";
import type { LatencySummary } from "../stats.js";
import type { AttackResult, Bar } from "./attacks.js";
import type { WindowStats } from "./good-caller.js";

/** The flood run's Markdown table and the issue's bar, attack by attack. */

export interface Row {
  name: string;
  title: string;
  bar: Bar;
  result: AttackResult | { error: string };
  before: WindowStats;
  during: WindowStats;
  /** The same calls' durations as the gateway logged them: arrival to answer, inside the gateway. */
  gatewayBefore: LatencySummary;
  gatewayDuring: LatencySummary;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  /** Gateway CPU seconds per second of the attack (1 = a whole core). */
  cpuShare: number;
  alive: boolean;
}

const ms = (value: number) =>
  Number.isFinite(value) ? `${value < 10 ? value.toFixed(1) : num(value)} ms` : "–";

export function floodTable(rows: Row[]): string {
  const lines = [
    "| attack | what the attacker got | good p50 before → during | good p99 before → during | p99 × | inside the gateway: p99 before → during | good calls failed (during) | gateway CPU | gateway RSS before → peak | alive |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const got = "error" in r.result ? `attack failed: ${r.result.error}` : r.result.got;
    const failed = `${num(r.during.errors)} / ${num(r.during.calls)}${r.during.firstError ? ` (${r.during.firstError})` : ""}`;
    lines.push(
      `| ${r.name} | ${got} | ${ms(r.before.latency.p50)} → ${ms(r.during.latency.p50)} | ${ms(r.before.latency.p99)} → ${ms(r.during.latency.p99)} | ×${p99Ratio(r).toFixed(2)} | ${ms(r.gatewayBefore.p99)} → ${ms(r.gatewayDuring.p99)} | ${failed} | ${num(r.cpuShare * 100)} % | ${num(r.rssBeforeMiB)} → ${num(r.rssPeakMiB)} MiB | ${r.alive ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

const p99Ratio = (r: Row) => r.during.latency.p99 / r.before.latency.p99;

/** One line per attack: whether it meets the issue's bar, and why not. */
export function verdicts(rows: Row[], aliveAtEnd: boolean): string[] {
  const lines = rows.map((r) => {
    const [ok, bar] = judge(r);
    return `- ${ok ? "PASS" : "FAIL"} ${r.name} (${r.title}): ${bar}`;
  });
  lines.push(`- ${aliveAtEnd ? "PASS" : "FAIL"} the gateway was still running at the end`);
  return ["Against the bar:", "", ...lines];
}

function judge(r: Row): [boolean, string] {
  if ("error" in r.result) return [false, `the attack itself failed (${r.result.error})`];
  const ratio = p99Ratio(r);
  const codes = [...new Set(r.result.goawayCodes)].map((c) => errorCodeName(c)).join(", ");
  switch (r.bar) {
    case "goaway-p99-3x": {
      const goaway = r.result.goawayCodes.length > 0;
      return [
        r.alive && goaway && ratio <= 3,
        `wants a GOAWAY (got ${goaway ? codes : "none"}) and good p99 within 3× (×${ratio.toFixed(2)})`,
      ];
    }
    case "cut-off":
      return [
        r.alive && r.result.cutOff,
        `wants every flooding connection cut off (${r.result.cutOff ? "yes" : "no"}${codes ? `; GOAWAY ${codes}` : ""})`,
      ];
    case "unchanged":
      return [
        r.alive && r.during.errors === 0 && ratio <= 1.5,
        `wants no failed good call (${r.during.errors}) and good p99 within 1.5× (×${ratio.toFixed(2)})`,
      ];
  }
}
