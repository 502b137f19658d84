import { once } from "node:events";
import { connect } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

/**
 * Every call is observed to its real end. A caller over cleartext HTTP/1.1 that hangs up mid-call
 * frees its admission and its upstream request at once (found in review: with half-open sockets a
 * client's FIN went unnoticed, and the call held its max_in_flight slot until the upstream
 * answered). An OpenAI-API request refused before it becomes a call is still one log line and one
 * count (found in review too: those went unreported).
 */
let gw: TestGateway;
beforeAll(async () => {
  // The first token comes after 3 s: a caller that leaves at 300 ms leaves mid-call.
  gw = await startTestGateway({ demo: { time_to_first_token: "3s" } });
});
afterAll(() => gw.close());

async function callsInFlight(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^weaver_calls_in_flight (\d+)$/m.exec(text)?.[1]);
}

test.each([
  ["the OpenAI API", "/v1/chat/completions", "application/json", "ChatCompletions"],
  ["Connect", "/weaver.gateway.v1.GatewayService/Generate", "application/json", "Generate"],
])(
  "%s: a caller that hangs up mid-call is cancelled at once, its slot freed",
  async (_api, path, type, method) => {
    const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] });
    const socket = connect(Number(new URL(gw.url).port), "127.0.0.1");
    socket.on("error", () => {});
    await once(socket, "connect");
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await expect.poll(callsInFlight, { timeout: 2_000, interval: 20 }).toBe(1);
    const leftAt = performance.now();
    socket.end();
    await expect.poll(callsInFlight, { timeout: 2_000, interval: 20 }).toBe(0);
    // Well before the 3 s the upstream would have taken.
    expect(performance.now() - leftAt).toBeLessThan(2_000);
    const line = gw.logs.findLast((l) => l.msg === "rpc" && l.method === method);
    expect(line).toMatchObject({ code: "canceled" });
  },
);

test.each([
  ["not JSON", "application/json", "{not json", "invalid_argument"],
  ["not application/json", "text/plain", "{}", "invalid_argument"],
  ["no messages", "application/json", JSON.stringify({ model: "demo" }), "invalid_argument"],
])(
  "an OpenAI-API request refused before it becomes a call (%s) is one log line and one count",
  async (_what, type, body, code) => {
    const before = gw.logs.length;
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": type },
      body,
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    await response.text();
    const lines = gw.logs.slice(before).filter((l) => l.msg === "rpc" && l.method === "ChatCompletions");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ protocol: "openai", code });
  },
);
