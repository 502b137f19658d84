import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CALL_KINDS } from "../../bench/soak/call-mix.js";
import { runSoak } from "../../bench/soak/soak.js";
import { failed, summary } from "../../bench/soak/soak-report.js";

/**
 * A minute of mixed calls (normal, cancelled, short deadlines, upstream faults) through the
 * chaos upstreams into a real gateway process: its live heap and open fds must not keep rising.
 * SOAK_SEED repeats a run; the seed is printed with the figures.
 */

const DURATION_MS = 60_000;
const seed = Number(process.env.SOAK_SEED) || Math.floor(Math.random() * 2 ** 31);

describe("soak", () => {
  it(
    "a minute of mixed and failing calls leaves no rising live heap or fd count",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "weaver-soak-test-"));
      const logFile = join(dir, "gateway.log");
      const result = await runSoak({
        durationMs: DURATION_MS,
        rate: 40,
        sampleEveryMs: 2_000,
        seed,
        logLevel: "info",
        logFile,
      });
      const text = summary(result);
      process.stdout.write(text);
      if (failed(result)) process.stdout.write(`gateway log kept in ${logFile}\n`);
      else rmSync(dir, { recursive: true, force: true });

      expect(result.gatewayFailure, text).toBeUndefined();
      // The load really ran: a soak whose calls all failed would measure nothing.
      expect(result.calls.started).toBeGreaterThan((DURATION_MS / 1000) * 40 * 0.9);
      const normal = ["unary", "stream"] as const;
      const ok = normal.reduce((sum, kind) => sum + (result.calls.outcomes[kind].OK ?? 0), 0);
      const all = normal.reduce(
        (sum, kind) => sum + Object.values(result.calls.outcomes[kind]).reduce((a, b) => a + b, 0),
        0,
      );
      expect(ok / all, "share of normal calls answered OK").toBeGreaterThan(0.95);
      expect(CALL_KINDS.every((kind) => Object.keys(result.calls.outcomes[kind]).length > 0)).toBe(true);
      expect(
        result.trends.liveHeap.judged && result.trends.fds.judged,
        "enough samples after the warm-up",
      ).toBe(true);
      expect(result.trends.liveHeap.rising, "live heap rising").toBe(false);
      expect(result.trends.fds.rising, "open fds rising").toBe(false);
      expect(result.upstream.callsSentTwice, "calls sent again after one had reached the upstream").toBe(0);
    },
    DURATION_MS + 60_000,
  );
});
