import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { demoTokens } from "../../src/demo/demo-text.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Both examples ask this, capped at 16 tokens; the demo upstream's answer follows from the prompt. */
const EXPECTED_TEXT = demoTokens("Why pool connections?", 16).join("");

const execFileAsync = promisify(execFile);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.close());

test.each(["examples/connect-client.ts", "examples/grpc-js-client.ts"])(
  "%s generates, streams and prints the reuse rate",
  async (example) => {
    const before = gw.logs.length;
    const [command = "", ...args] = await runLine(example);
    expect(args).toContain(example);
    const { stdout } = await execFileAsync(command, [...args, gw.url], { cwd: ROOT });
    expect(stdout).toContain(`Generate: ${EXPECTED_TEXT}\n`);
    expect(stdout).toContain(`GenerateStream: ${EXPECTED_TEXT}\n`);
    expect(stdout).toMatch(/^\(16 tokens, upstream connection reused: (true|false)\)$/m);
    // The rate printed is the gateway's own: nothing else calls it between the example's PoolStats and now.
    const reuseRate = gw.gateway.pools.snapshot().totals.reuseRate;
    expect(stdout).toContain(`Upstream connection reuse rate: ${(reuseRate * 100).toFixed(1)}%\n`);
    const methods = gw.logs.slice(before).map((line) => [line.method, line.protocol, line.code]);
    expect(methods).toEqual([
      ["Generate", "grpc", "ok"],
      ["GenerateStream", "grpc", "ok"],
      ["PoolStats", "grpc", "ok"],
    ]);
  },
);

test.each([
  ["examples/tool-calling-grpc.ts", ["grpc", "Generate"]],
  ["examples/tool-calling-openai-sdk.ts", ["openai", "ChatCompletions"]],
] as const)(
  "%s runs an agent loop: two parallel tool calls, their results sent back, then the answer",
  async (example, [protocol, method]) => {
    const before = gw.logs.length;
    const [command = "", ...args] = await runLine(example);
    const { stdout } = await execFileAsync(command, [...args, gw.url], { cwd: ROOT });
    // The demo calls every tool it is offered, with the prompt's names for strings.
    expect(stdout).toContain(
      [
        'Tool call: get_weather({"city":"Paris"}) -> {"city":"Paris","celsius":21}',
        'Tool call: get_time({"city":"Paris"}) -> {"city":"Paris","time":"14:05"}',
        "Answer: ",
      ].join("\n"),
    );
    const calls = gw.logs.slice(before).map((line) => [line.method, line.protocol, line.code]);
    expect(calls).toEqual([
      [method, protocol, "ok"],
      [method, protocol, "ok"],
    ]);
  },
);

test.each([
  "examples/connect-client.ts",
  "examples/grpc-js-client.ts",
  "examples/tool-calling-grpc.ts",
  "examples/tool-calling-openai-sdk.ts",
])("the README shows %s as it is, so the README cannot rot", async (example) => {
  const [readme, code] = await Promise.all([
    readFile(`${ROOT}/README.md`, "utf8"),
    readFile(`${ROOT}/${example}`, "utf8"),
  ]);
  expect(readme).toContain(code.trimEnd());
});

/** The command an example's "// Run:" line gives, before its arguments: ["npx", "tsx", ..., example]. */
async function runLine(example: string): Promise<string[]> {
  const code = await readFile(`${ROOT}/${example}`, "utf8");
  const line = code.match(/^\/\/ Run: (.+?) \[url\]/m)?.[1];
  if (!line) throw new Error(`${example} has no "// Run: ... [url]" line`);
  return line.split(" ");
}
