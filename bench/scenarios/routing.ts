import { pino } from "pino";
import { RouterSchema } from "../../src/config/schema.js";
import type { ChatResult, Provider } from "../../src/providers/provider.js";
import { ModelRouter } from "../../src/router/model-router.js";
import { num, spread } from "../format.js";
import { diffMeasure, measure } from "../stats.js";
import type { BenchContext, Scenario } from "./context.js";

const RESULT: ChatResult = {
  id: "x",
  text: "",
  finishReason: "stop",
  usage: undefined,
  nonTextContent: [],
  toolCalls: [],
  reasoning: [],
  refusal: "",
  upstream: { origin: "https://upstream.invalid", protocol: "h2", connectionReused: true, latencyMs: 0 },
};

/**
 * What the router itself costs per request: `ModelRouter.run` over providers that answer at once,
 * for a one-deployment model and a two-deployment group, in this process so that nothing but
 * resolution, selection and the health bookkeeping is timed. Microseconds, where the network
 * costs milliseconds.
 */
export const routing: Scenario = {
  name: "routing",
  title: "router cost per request: one deployment vs a two-deployment group",
  async run(ctx: BenchContext) {
    const calls = ctx.options.quick ? 50_000 : 300_000;
    const provider = (name: string): Provider => ({
      name,
      origin: `https://${name}.invalid`,
      generate: async () => RESULT,
      stream: () => {
        throw new Error("not used");
      },
    });
    const providers = new Map([
      ["a", provider("a")],
      ["b", provider("b")],
    ]);
    const models = {
      one: { aliases: [], fallbacks: [], deployments: [{ provider: "a", model: "m", weight: 1 }] },
      two: {
        aliases: [],
        fallbacks: [],
        deployments: [
          { provider: "a", model: "m", weight: 1 },
          { provider: "b", model: "m", weight: 1 },
        ],
      },
    };
    const router = new ModelRouter(
      models,
      providers,
      new Set(),
      RouterSchema.parse({}),
      pino({ level: "silent" }),
    );
    const signal = new AbortController().signal;
    const timePerCall = async (model: string) => {
      const startedAt = performance.now();
      for (let i = 0; i < calls; i++) {
        const routed = await router.run(
          model,
          (d) => d.provider.generate({ model: d.model, messages: [], stop: [], tools: [] }, signal),
          {
            signal,
          },
        );
        routed.release();
      }
      return ((performance.now() - startedAt) * 1000) / calls;
    };
    await timePerCall("one");
    await timePerCall("two");
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 1; round <= ctx.options.rounds; round++) {
      // Alternating order, so drift of a noisy machine falls on both sides.
      if (round % 2 === 1) {
        one.push(await timePerCall("one"));
        two.push(await timePerCall("two"));
      } else {
        two.push(await timePerCall("two"));
        one.push(await timePerCall("one"));
      }
      ctx.progress(
        `round ${round}: one ${num(one.at(-1) ?? 0, 2)} µs, two ${num(two.at(-1) ?? 0, 2)} µs per call`,
      );
    }
    const added = diffMeasure(two, one);
    return {
      params: { calls },
      tables: [
        [
          ["µs per request", "value"],
          ["one deployment", spread(measure(one), 2)],
          ["two-deployment group (least in flight)", spread(measure(two), 2)],
          ["added by choosing between two", spread(added, 2)],
        ],
      ],
      notes: [
        `${calls.toLocaleString("en-US")} sequential router.run calls per side and round, in the bench process, over providers that answer at once.`,
        "It covers name resolution, selection, the health and in-flight bookkeeping and the promise plumbing; the end-to-end overhead scenario shows the rest of the gateway.",
      ],
      data: { oneMicros: one, twoMicros: two },
      chart: [
        {
          title: "routing: router cost per request (µs)",
          unit: "µs",
          bars: [
            { label: "one deployment", value: measure(one).median, tone: "a" },
            { label: "two-deployment group", value: measure(two).median, tone: "b" },
          ],
        },
      ],
    };
  },
};
