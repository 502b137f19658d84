import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Flights } from "../../src/cache/flights.js";

// Coalescing under generated interleavings of callers joining, callers going away, and the shared
// call answering or failing.
type Op = { op: "join" } | { op: "cancel"; caller: number } | { op: "answer" } | { op: "fail" };
const operations = fc.array(
  fc.oneof(
    fc.constant<Op>({ op: "join" }),
    fc.nat({ max: 9 }).map((caller): Op => ({ op: "cancel", caller })),
    fc.constant<Op>({ op: "answer" }),
    fc.constant<Op>({ op: "fail" }),
  ),
  { maxLength: 30 },
);

interface Started {
  signal: AbortSignal;
  settle: (ok: boolean) => void;
  settled: boolean;
  ok?: boolean;
}
interface Caller {
  controller: AbortController;
  flight: number;
  outcome: "waiting" | "answered" | "failed" | "cancelled";
  value?: number;
  pays?: boolean;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("Flights", () => {
  it("starts one call per key while it runs, answers every caller still waiting (one of them paying), and cancels it only when all have gone", async () => {
    await fc.assert(
      fc.asyncProperty(operations, async (ops) => {
        const flights = new Flights();
        const started: Started[] = [];
        const callers: Caller[] = [];
        /** Callers still waiting on each flight. */
        const waiting = (flight: number) =>
          callers.filter((c) => c.flight === flight && c.outcome === "waiting");
        const current = () => {
          const last = started.length - 1;
          const flight = started[last];
          return flight && !flight.settled && !flight.signal.aborted ? last : undefined;
        };
        for (const op of ops) {
          if (op.op === "join") {
            const controller = new AbortController();
            const running = current();
            const caller: Caller = { controller, flight: running ?? started.length, outcome: "waiting" };
            callers.push(caller);
            flights
              .join(
                "key",
                (signal) =>
                  new Promise<number>((resolve, reject) => {
                    const index = started.length;
                    started.push({
                      signal,
                      settled: false,
                      settle: (ok) => (ok ? resolve(index) : reject(new Error("upstream failed"))),
                    });
                  }),
                controller.signal,
              )
              .then(
                ({ value, pays }) => {
                  caller.outcome = "answered";
                  caller.value = value;
                  caller.pays = pays;
                },
                () => {
                  caller.outcome = controller.signal.aborted ? "cancelled" : "failed";
                },
              );
          } else if (op.op === "cancel") {
            callers[op.caller]?.controller.abort(new Error("caller went away"));
          } else {
            const running = current();
            if (running !== undefined) {
              const flight = started[running] as Started;
              flight.settled = true;
              flight.ok = op.op === "answer";
              flight.settle(flight.ok);
            }
          }
          await flush();
          // A caller that joined while a call ran shares it: flights start one by one.
          for (const [index, caller] of callers.entries())
            expect(caller.flight, `caller ${index}`).toBeLessThanOrEqual(started.length);
          // A flight is cancelled exactly when nobody waits for it and it had not answered.
          for (const [index, flight] of started.entries()) {
            if (!flight.settled) expect(flight.signal.aborted).toBe(waiting(index).length === 0);
          }
        }
        // Whatever is left answers: every caller still waiting gets its own flight's outcome.
        for (const flight of started) {
          if (flight.settled || flight.signal.aborted) continue;
          flight.ok = true;
          flight.settle(true);
        }
        await flush();
        for (const caller of callers) {
          const flight = started[caller.flight] as Started;
          if (caller.outcome === "cancelled") expect(caller.controller.signal.aborted).toBe(true);
          if (caller.outcome === "failed") expect(flight.ok).toBe(false);
          if (caller.outcome === "answered") {
            expect(flight.ok).toBe(true);
            expect(caller.value).toBe(caller.flight);
          }
        }
        expect(callers.filter((c) => c.outcome === "waiting")).toEqual([]);
        // Exactly one caller pays for each call that answered anyone: the first it answered.
        for (const index of started.keys()) {
          const answered = callers.filter((c) => c.flight === index && c.outcome === "answered");
          if (answered.length > 0) expect(answered.filter((c) => c.pays)).toHaveLength(1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("replays a stream's events to a caller that joins late, then follows it live", async () => {
    const flights = new Flights();
    let push: ((value: number | undefined) => void) | undefined;
    const source = async function* () {
      for (;;) {
        const value = await new Promise<number | undefined>((resolve) => {
          push = resolve;
        });
        if (value === undefined) return;
        yield value;
      }
    };
    let starts = 0;
    const start = () => {
      starts++;
      return source();
    };
    const read = async (seen: number[]) => {
      const watcher = { joined: () => {}, left: () => {} };
      for await (const value of flights.joinStream("s", start, new AbortController().signal, watcher))
        seen.push(value);
    };
    const early: number[] = [];
    const late: number[] = [];
    const first = read(early);
    await flush();
    push?.(1);
    await flush();
    push?.(2);
    await flush();
    const second = read(late);
    await flush();
    push?.(3);
    await flush();
    push?.(undefined);
    await Promise.all([first, second]);
    expect(starts).toBe(1);
    expect(early).toEqual([1, 2, 3]);
    expect(late).toEqual([1, 2, 3]);
  });
});
