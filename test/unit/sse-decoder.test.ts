import { describe, expect, test } from "vitest";
import { decodeSse } from "../../src/providers/sse-decoder.js";

const encoder = new TextEncoder();

/** The data of each `chat.completion.chunk` event, with multi-byte characters to split. */
const openAiEventData = [
  '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
  '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Café "}}]}',
  '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"🚀 launch"}}]}',
  '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
  '{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}}',
  "[DONE]",
];

/** An OpenAI-style stream, with a keep-alive comment between events, in the given line ending. */
function openAiStream(newline: "\n" | "\r\n"): Uint8Array {
  const events = openAiEventData.map((data) => `data: ${data}${newline}${newline}`);
  events.splice(2, 0, `: keep-alive${newline}${newline}`);
  return encoder.encode(events.join(""));
}

async function* chunksOf(chunks: (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  yield* chunks;
}

async function decodedData(chunks: (Uint8Array | string)[]): Promise<string[]> {
  const data: string[] = [];
  for await (const event of decodeSse(chunksOf(chunks))) data.push(event.data);
  return data;
}

function oneBytePerChunk(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

describe.each([
  { lineEnding: "LF", newline: "\n" as const },
  { lineEnding: "CRLF", newline: "\r\n" as const },
])("an OpenAI stream with $lineEnding line endings", ({ newline }) => {
  const stream = openAiStream(newline);

  test("decodes whole", async () => {
    expect(await decodedData([stream])).toEqual(openAiEventData);
  });

  test("decodes the same when split in two at every byte position", async () => {
    for (let at = 0; at <= stream.length; at++) {
      const data = await decodedData([stream.subarray(0, at), stream.subarray(at)]);
      expect(data, `split at byte ${at}`).toEqual(openAiEventData);
    }
  });

  test("decodes the same one byte per chunk", async () => {
    expect(await decodedData(oneBytePerChunk(stream))).toEqual(openAiEventData);
  });
});

describe("decodeSse", () => {
  test("a character split across chunks arrives whole", async () => {
    const bytes = encoder.encode("data: é🚀\n\n");
    // "é" is 2 bytes from offset 6; "🚀" is 4 bytes from offset 8. Every cut inside them.
    for (const at of [7, 9, 10, 11]) {
      expect(await decodedData([bytes.subarray(0, at), bytes.subarray(at)]), `split at ${at}`).toEqual([
        "é🚀",
      ]);
    }
  });

  test("multi-line data is joined by \\n", async () => {
    const stream = "data: first line\r\ndata: second line\r\ndata:\r\ndata: after an empty one\r\n\r\n";
    expect(await decodedData([encoder.encode(stream)])).toEqual([
      "first line\nsecond line\n\nafter an empty one",
    ]);
  });

  test("comment lines are not events", async () => {
    const stream = ": keep-alive\n\n: another\ndata: real\n: trailing comment\n\n";
    expect(await decodedData([encoder.encode(stream)])).toEqual(["real"]);
  });

  test("event names and ids are kept", async () => {
    const events = [];
    const stream = encoder.encode("event: error\nid: 7\ndata: {}\n\n");
    for await (const event of decodeSse(chunksOf([stream]))) events.push(event);
    expect(events).toEqual([{ event: "error", id: "7", data: "{}" }]);
  });

  test("string chunks are accepted as they are", async () => {
    expect(await decodedData(["data: a", "bc\n", "\ndata: d\n\n"])).toEqual(["abc", "d"]);
  });

  test.each([
    { cut: "inside a data line", tail: 'data: {"id":"chatc' },
    { cut: "after a data line, before the blank line", tail: 'data: {"id":"chatcmpl-2"}\n' },
    { cut: "after a CRLF-ended data line", tail: 'data: {"id":"chatcmpl-2"}\r\n' },
  ])("a stream cut $cut does not yield the incomplete event", async ({ tail }) => {
    const stream = encoder.encode(`data: complete\n\n${tail}`);
    expect(await decodedData([stream])).toEqual(["complete"]);
    expect(await decodedData(oneBytePerChunk(stream))).toEqual(["complete"]);
  });

  test("events are yielded as their chunk arrives, not at the end of the body", async () => {
    const seen: string[] = [];
    let release: (by: "event" | "timer") => void = () => {};
    const releasedBy = new Promise<"event" | "timer">((resolve) => {
      release = resolve;
    });
    // A decoder that waits for the end of the body would only see the first event after this.
    const fallback = setTimeout(() => release("timer"), 1_000);
    async function* body(): AsyncGenerator<Uint8Array> {
      yield encoder.encode("data: first\n\n");
      await releasedBy;
      yield encoder.encode("data: second\n\n");
    }
    for await (const event of decodeSse(body())) {
      seen.push(event.data);
      if (event.data === "first") release("event");
    }
    clearTimeout(fallback);
    expect(await releasedBy).toBe("event");
    expect(seen).toEqual(["first", "second"]);
  });
});
