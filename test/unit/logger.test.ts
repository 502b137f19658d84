import { Writable } from "node:stream";
import { expect, test } from "vitest";
import { createLogger } from "../../src/log/logger.js";

function capture(): { lines: string[]; sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}

test.each([
  { authorization: "Bearer sk-secret-1234567890" },
  { apiKey: "sk-secret-1234567890" },
  { api_key: "sk-secret-1234567890" },
  { headers: { authorization: "Bearer sk-secret-1234567890", "x-api-key": "sk-secret-1234567890" } },
  { err: { headers: { "x-api-key": "sk-secret-1234567890" } } },
])("the logger redacts credentials: %j", (fields) => {
  const { lines, sink } = capture();
  createLogger({ LOG_LEVEL: "info" }, sink).info(fields, "upstream call");
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain("sk-secret");
  expect(lines[0]).toContain("[redacted]");
});

test("LOG_LEVEL sets the level", () => {
  const { lines, sink } = capture();
  const logger = createLogger({ LOG_LEVEL: "warn" }, sink);
  logger.info("quiet");
  logger.warn("loud");
  expect(lines.map((line) => JSON.parse(line).msg)).toEqual(["loud"]);
});
