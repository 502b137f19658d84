import { Client } from "undici";
import { afterEach, expect, it } from "vitest";
import { DemoUpstream } from "../../src/demo/demo-upstream.js";

/** The demo upstream's cleartext HTTP/1.1 mode (`--plain`), the bench's HTTP/1.1 upstream, and its HTTP/1.1 keep-alive. */

let demo: DemoUpstream | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await demo?.close();
});

const chat = (stream: boolean) =>
  JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }], max_tokens: 4, stream });

it("answers completions and streams over one kept-alive cleartext HTTP/1.1 connection", async () => {
  demo = await new DemoUpstream({ plain: true }).start();
  expect(demo.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(demo.ca).toBe("");
  client = new Client(demo.origin);
  const post = (stream: boolean) =>
    client?.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chat(stream),
    });

  const first = await post(false);
  expect(first?.statusCode).toBe(200);
  const json = (await first?.body.json()) as { choices: { message: { content: string } }[] };
  expect(json.choices[0]?.message.content.length).toBeGreaterThan(0);
  const streamed = await post(true);
  expect(streamed?.headers["content-type"]).toBe("text/event-stream");
  expect(await streamed?.body.text()).toContain("data: [DONE]");

  expect(demo.counts).toMatchObject({ connectionsAccepted: 1, requestsServed: 2 });
});

it("close() ends while a client holds an idle keep-alive connection", async () => {
  demo = await new DemoUpstream({ plain: true }).start();
  client = new Client(demo.origin, { keepAliveTimeout: 60_000 });
  const response = await client.request({ path: "/v1/chat/completions", method: "POST", body: chat(false) });
  await response.body.text();

  const outcome = await Promise.race([
    demo.close().then(() => "closed"),
    new Promise((resolve) => setTimeout(resolve, 5_000, "still open after 5 s")),
  ]);

  expect(outcome).toBe("closed");
});

it("tells HTTP/1.1 clients to keep idle connections for 65 s, over TLS as in plain", async () => {
  for (const plain of [true, false]) {
    demo = await new DemoUpstream({ plain }).start();
    // undici offers h2 by default, whose connections carry no Keep-Alive.
    client = new Client(demo.origin, { allowH2: false, connect: { ca: demo.ca || undefined } });
    const response = await client.request({
      path: "/v1/chat/completions",
      method: "POST",
      body: chat(false),
    });
    await response.body.text();
    expect(response.headers["keep-alive"]).toBe("timeout=65");
    await client.close();
    await demo.close();
    [client, demo] = [undefined, undefined];
  }
});
