import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it, test } from "vitest";
import { runGatewayToExit } from "../support/gateway-process.js";

/**
 * Issue 12: a config naming a key variable that is not set or a file that cannot be read exited 1
 * with a stack, one mistake per start, and a demo upstream started before it could keep the
 * process alive. Now: exit 2, every such mistake by its path, nothing left running.
 */
describe("a start that fails on what the config names", () => {
  it("exits 2 naming every missing key variable and unreadable file by its path, with no stack", async () => {
    const exit = await runGatewayToExit({
      server: {
        host: "127.0.0.1",
        port: 0,
        tls: { cert_file: "/nonexistent/server.crt", key_file: "/nonexistent/server.key" },
      },
      providers: {
        demo: { type: "demo" },
        openai: { type: "openai", api_key_env: "WEAVER_TEST_UNSET_KEY_1" },
        vllm: { type: "openai", base_url: "https://10.0.0.5:8000/v1", ca_file: "/nonexistent/ca.pem" },
        anthropic: { type: "anthropic", api_key_env: "WEAVER_TEST_UNSET_KEY_2" },
      },
    });
    expect(exit.code).toBe(2);
    for (const problem of [
      "server.tls.cert_file: cannot read /nonexistent/server.crt (ENOENT)",
      "server.tls.key_file: cannot read /nonexistent/server.key (ENOENT)",
      "providers.openai.api_key_env: the environment variable WEAVER_TEST_UNSET_KEY_1 is not set",
      "providers.vllm.ca_file: cannot read /nonexistent/ca.pem (ENOENT)",
      "providers.anthropic.api_key_env: the environment variable WEAVER_TEST_UNSET_KEY_2 is not set",
    ]) {
      expect(exit.stderr).toContain(problem);
    }
    expect(exit.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 naming the address when the port is taken, with nothing left running", async () => {
    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const { port } = taken.address() as { port: number };
    try {
      const exit = await runGatewayToExit({
        server: { host: "127.0.0.1", port },
        providers: { demo: { type: "demo" } },
      });
      expect(exit.code).toBe(2);
      expect(exit.stderr).toBe(
        `cannot listen on 127.0.0.1:${port} (EADDRINUSE): port ${port} is in use by another process: set PORT or server.port to a free one\n`,
      );
      expect(exit.stderr).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });
});

test("an unknown LOG_LEVEL is named with the valid levels, exit 2, no stack", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(import.meta.dirname, "..", ".."),
    env: { ...process.env, LOG_LEVEL: "verbose", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const [code] = await once(child, "close");
  expect(code).toBe(2);
  expect(stderr).toBe(
    'LOG_LEVEL: "verbose" is not a log level (use one of: fatal, error, warn, info, debug, trace, silent)\n',
  );
});
