import { connect } from "node:net";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, expect, test } from "vitest";
import {
  FinishReason,
  GatewayService,
  GenerateStreamRequestSchema,
  type StreamFinish,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { demoTokens } from "../../src/demo/demo-text.js";
import { type GatewayProcess, runGatewayToExit, spawnGateway } from "../support/gateway-process.js";

/** A guard against a hang: spawning the gateway under tsx has taken 10 s on a loaded machine. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;
const STREAMS = 20;
/** At 20 ms a token, 40 tokens take about a second: SIGTERM lands mid-stream. */
const TOKENS = 40;

const DEMO_CONFIG = {
  server: { host: "127.0.0.1", port: 0, drain_timeout: "20s" },
  providers: { demo: { type: "demo", inter_token_delay: "20ms" } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
};

let gateway: GatewayProcess | undefined;
afterEach(async () => {
  await gateway?.dispose();
  gateway = undefined;
});

interface StreamOutcome {
  prompt: string;
  text: string;
  finish: StreamFinish | undefined;
  /** Set when the stream failed: its error, and whether SIGTERM had been sent by then. */
  failure?: { error: string; afterSigterm: boolean };
}

/**
 * Consumes one GenerateStream; `onStart` runs when its start event arrives. A failure is returned,
 * not thrown, so the test can report every stream's fate and not just the first error.
 */
async function consumeStream(
  client: Client<typeof GatewayService>,
  prompt: string,
  onStart: () => void,
  sigtermSent: () => boolean,
): Promise<StreamOutcome> {
  const request = create(GenerateStreamRequestSchema, {
    model: "demo",
    messages: [{ role: "user", content: prompt }],
    maxTokens: TOKENS,
  });
  let text = "";
  let finish: StreamFinish | undefined;
  try {
    for await (const message of client.generateStream(request)) {
      switch (message.event.case) {
        case "start":
          onStart();
          break;
        case "delta":
          text += message.event.value.text;
          break;
        case "finish":
          finish = message.event.value;
          break;
      }
    }
  } catch (error) {
    return { prompt, text, finish, failure: { error: String(error), afterSigterm: sigtermSent() } };
  }
  return { prompt, text, finish };
}

/**
 * Whether a new TCP connection to `port` is refused. A connection that is still accepted (the
 * signal is not handled yet) is closed and tried again, up to `attempts` times.
 */
async function newConnectionsRefused(port: number, attempts = 40): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const outcome = await new Promise<"refused" | "accepted" | "other">((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve("accepted");
      });
      socket.once("error", (error: NodeJS.ErrnoException) =>
        resolve(error.code === "ECONNREFUSED" ? "refused" : "other"),
      );
    });
    if (outcome === "refused") return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

test("SIGTERM with 20 streams in flight: every stream finishes in full, then the process exits 0", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  gateway = await spawnGateway(DEMO_CONFIG);
  const running = gateway;
  const client = createClient(GatewayService, createGrpcTransport({ baseUrl: running.url }));

  let startedCount = 0;
  let finishedCount = 0;
  let sigtermSent = false;
  let allStarted = () => {};
  const everyStreamStarted = new Promise<void>((resolve) => {
    allStarted = resolve;
  });
  const outcomes = Promise.all(
    Array.from({ length: STREAMS }, (_, i) =>
      consumeStream(
        client,
        `stream number ${i}`,
        () => {
          if (++startedCount === STREAMS) allStarted();
        },
        () => sigtermSent,
      ).finally(() => finishedCount++),
    ),
  );
  // A stream that fails before it starts would leave the wait hanging: stop when all have ended.
  await Promise.race([everyStreamStarted, outcomes]);
  // The premise: every stream has started and none has ended (each has ~0.8 s of tokens left).
  expect(startedCount).toBe(STREAMS);
  expect(finishedCount).toBe(0);

  sigtermSent = running.child.kill("SIGTERM");
  expect(sigtermSent).toBe(true);
  await running.waitForLog((line) => line.msg === "draining");
  const refusedWhileDraining = await newConnectionsRefused(running.port);

  const results = await outcomes;
  const exit = await running.exited;

  const failures = results.filter((outcome) => outcome.failure !== undefined);
  const processReport = `exit ${JSON.stringify(exit)}, stderr: ${running.stderr()}, logs: ${JSON.stringify(running.logs)}`;
  expect(failures, processReport).toEqual([]);
  for (const { prompt, text, finish } of results) {
    // The demo's text is a function of the prompt, so the whole text is known in advance.
    expect(text).toBe(demoTokens(prompt, TOKENS).join(""));
    expect(text.split(" ")).toHaveLength(TOKENS);
    expect(finish?.finishReason).toBe(FinishReason.LENGTH);
    expect(finish?.usage?.outputTokens).toBe(TOKENS);
  }
  expect(exit).toEqual({ code: 0, signal: null });
  expect(refusedWhileDraining).toBe(true);
  expect(running.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(["draining", "stopped"]));
  expect(running.stderr()).toBe("");
});

test("SIGTERM as soon as it announces it is listening: it still drains and exits 0", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  // A supervisor may signal the moment the gateway says it listens; by then it must be ready to drain.
  gateway = await spawnGateway(DEMO_CONFIG);
  gateway.child.kill("SIGTERM");
  expect(await gateway.exited).toEqual({ code: 0, signal: null });
  expect(gateway.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(["draining", "stopped"]));
});

test("a config error exits with code 2 and names the mistake by its path in the file", {
  timeout: PROCESS_TEST_TIMEOUT_MS,
}, async () => {
  const result = await runGatewayToExit({
    ...DEMO_CONFIG,
    models: { demo: { deployments: [{ provider: "nope", model: "demo" }] } },
  });

  expect(result.code).toBe(2);
  expect(result.stderr).toContain('models.demo.deployments[0].provider: unknown provider "nope"');
  expect(result.stderr).toMatch(/invalid config \(.*gateway\.yaml\)/);
  // It never got as far as listening.
  expect(result.stdout).not.toContain('"url"');
});
