import { spawn } from "node:child_process";
import { once } from "node:events";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
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

test("a line carries an ISO time and the level's name", () => {
  const { lines, sink } = capture();
  createLogger({ LOG_LEVEL: "info" }, sink).warn("careful");
  const line = JSON.parse(lines[0] ?? "{}");
  expect(line).toMatchObject({ level: "warn", msg: "careful" });
  expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

/** Runs `body` in a child Node process with the logger on its real stdout; resolves with what it printed. */
async function loggedByChild(body: string): Promise<string> {
  const script = `import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};\nconst logger = createLogger({ LOG_LEVEL: "info" });\n${body}`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let printed = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    printed += text;
  });
  await once(child, "close");
  return printed;
}

const LOGGER_MODULE = fileURLToPath(new URL("../../src/log/logger.ts", import.meta.url));

test("stdout gets a quiet gateway's line within the flush interval, not only at exit", async () => {
  // The marker is written straight to stdout 1 s later: the line must already be there.
  const text = await loggedByChild(
    `import { writeSync } from "node:fs";\nlogger.info("one line");\n` +
      `setTimeout(() => { writeSync(1, "marker\\n"); process.exit(0); }, 1000);`,
  );
  expect(text).toContain("one line");
  expect(text.indexOf("one line")).toBeLessThan(text.indexOf("marker"));
});

test("stdout gets every line of a burst, the last ones when the process exits", async () => {
  const text = await loggedByChild(
    `for (let i = 0; i < 1000; i++) logger.info({ i }, "burst");\nprocess.exit(0);`,
  );
  const lines = text.trim().split("\n");
  expect(lines).toHaveLength(1000);
  expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ i: 999, msg: "burst" });
});
