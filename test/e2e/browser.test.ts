import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { demoTokens } from "../../src/demo/demo-text.js";
import { withCors } from "../../src/server/cors.js";
import { type StaticServer, startStaticServer } from "../support/static-server.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";

// The example page in examples/web, built by Vite and served from its own origin, calls a gateway
// on another port through CORS, in Debian's headless Chromium driven by playwright-core.
const ROOT = join(import.meta.dirname, "..", "..");
const ARTIFACTS = join(ROOT, "test-results", "browser");
const CHROMIUM = {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
const PROMPT = "Tell the browser about pooled connections";
const TOKENS = 24;
const EXPECTED_TEXT = demoTokens(PROMPT, TOKENS).join("");
/** Records, in the page, the output's length at every change: [ms since page load, length]. */
const RECORD_OUTPUT_LENGTHS = `(() => {
  const output = document.getElementById("output");
  window.outputLengths = [];
  new MutationObserver(() => window.outputLengths.push([performance.now(), output.textContent.length]))
    .observe(output, { childList: true, characterData: true, subtree: true });
})()`;

let siteDir: string | undefined;
/** Every module the page's bundle holds, by path. */
let bundled: string[] = [];
let site: StaticServer | undefined;
let gw: TestGateway | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  siteDir = await mkdtemp(join(tmpdir(), "weaver-web-"));
  const built = await build({
    configFile: join(ROOT, "examples", "web", "vite.config.ts"),
    logLevel: "warn",
    build: { outDir: siteDir, emptyOutDir: true },
  });
  bundled = (Array.isArray(built) ? built : [built]).flatMap((result) =>
    "output" in result ? result.output.flatMap((file) => (file.type === "chunk" ? file.moduleIds : [])) : [],
  );
  site = await startStaticServer(siteDir);
  [gw, browser] = await Promise.all([
    // 30 ms a token: slow enough to watch the text grow.
    startTestGateway({
      demo: { inter_token_delay: "30ms" },
      server: { cors: { allowed_origins: [site.origin] } },
    }),
    chromium.launch(CHROMIUM),
    mkdir(ARTIFACTS, { recursive: true }),
  ]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await site?.close();
  if (siteDir) await rm(siteDir, { recursive: true, force: true });
});

function gateway(): TestGateway {
  if (!gw) throw new Error("the gateway did not start");
  return gw;
}

/** Where the built page is served, e.g. http://127.0.0.1:40111. */
function siteOrigin(): string {
  if (!site) throw new Error("the page is not served");
  return site.origin;
}

async function openPage(origin: string, transport: string): Promise<{ page: Page; problems: string[] }> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1000, height: 720 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${origin}/?${new URLSearchParams({ gateway: gateway().url, transport })}`);
  return { page, problems };
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? "";
}

/** Polls an element's text, allowing for a slow machine: a stream alone takes 24 × 30 ms. */
function pollText(page: Page, selector: string) {
  return expect.poll(() => text(page, selector), { timeout: 10_000, interval: 20 });
}

test("the page calls through @weaver-gateway/client's browser entry, with nothing of Node's transport", () => {
  const relative = bundled.map((id) => id.replace(`${ROOT}/`, ""));
  expect(relative).toEqual(
    expect.arrayContaining([
      "packages/client/src/index.browser.ts",
      "packages/client/src/web-transport.ts",
      expect.stringMatching(/^node_modules\/@connectrpc\/connect-web\//),
    ]),
  );
  expect(relative.filter((id) => /connect-node|node-transport|http2/.test(id))).toEqual([]);
});

describe.each(["connect", "grpc-web"] as const)("the example page over %s", (transport) => {
  test("shows Generate's text, streams GenerateStream into the page token by token, and renders PoolStats", async () => {
    const { page, problems } = await openPage(siteOrigin(), transport);
    try {
      // The page shows the pools as soon as it loads.
      await pollText(page, "#stats-status").toMatch(/^As of /);
      expect(await page.inputValue("#transport")).toBe(transport);
      await page.fill("#prompt", PROMPT);
      await page.fill("#max-tokens", String(TOKENS));
      const logsBefore = gateway().logs.length;

      await page.click("#generate");
      await pollText(page, "#status").toBe(`Generate done: ${TOKENS} tokens, LENGTH`);
      expect(await text(page, "#output")).toBe(EXPECTED_TEXT);

      await page.evaluate(RECORD_OUTPUT_LENGTHS);
      await page.click("#stream");
      await pollText(page, "#status").toMatch(
        new RegExp(`^Stream done: ${TOKENS} tokens, LENGTH, upstream connection reused: (true|false)$`),
      );
      expect(await text(page, "#output")).toBe(EXPECTED_TEXT);
      const lengths = await page.evaluate<[number, number][]>("window.outputLengths");
      const sizes = lengths.map(([, length]) => length);
      expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
      const intermediate = new Set(sizes.filter((size) => size > 0 && size < EXPECTED_TEXT.length));
      expect(intermediate.size).toBeGreaterThanOrEqual(2);
      // The text grew over the stream's time, not all at once.
      const growing = lengths.filter(([, length]) => length > 0);
      expect((growing.at(-1)?.[0] ?? 0) - (growing[0]?.[0] ?? 0)).toBeGreaterThan(10 * 30);

      // The stats the page shows are the gateway's own after the stream.
      const { totals, origins } = gateway().gateway.pools.snapshot();
      await pollText(page, "#requests").toBe(String(totals.requestsTotal));
      expect(await text(page, "#reuse-rate")).toBe(`${(totals.reuseRate * 100).toFixed(1)}%`);
      expect(await text(page, "#connections")).toBe(String(totals.connectionsCreatedTotal));
      const rows = await page.$$eval("#origins tr", (trs) => trs.map((tr) => tr.textContent));
      expect(rows).toHaveLength(origins.length);
      expect(rows[0]).toContain(gateway().demo.origin);

      const screenshot = join(ARTIFACTS, transport === "connect" ? "page.png" : `page-${transport}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      expect((await readFile(screenshot)).subarray(1, 4).toString()).toBe("PNG");

      // Each call the page made, in order, over the transport chosen (a line is logged as an RPC ends).
      const calls = () =>
        gateway()
          .logs.slice(logsBefore)
          .map((line) => [line.method, line.protocol, line.code]);
      await expect.poll(calls).toEqual([
        ["Generate", transport, "ok"],
        ["PoolStats", transport, "ok"],
        ["GenerateStream", transport, "ok"],
        ["PoolStats", transport, "ok"],
      ]);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

test("a page from an origin that is not allowed cannot call the gateway", async () => {
  // Same server, but "localhost" is another origin than the allowed "127.0.0.1".
  const origin = siteOrigin().replace("127.0.0.1", "localhost");
  const { page, problems } = await openPage(origin, "connect");
  try {
    const logsBefore = gateway().logs.length;
    await page.click("#generate");
    await pollText(page, "#status").toMatch(/^Generate failed: /);
    // The page says what to do about it, with the config lines for its own origin.
    expect(await text(page, "#status")).toContain(
      `its CORS settings likely do not allow this page's origin; add to its config:\nserver:\n  cors:\n    allowed_origins: ["${origin}"]`,
    );
    expect(await text(page, "#output")).toBe("");
    expect(
      gateway()
        .logs.slice(logsBefore)
        .filter((line) => line.method === "Generate"),
    ).toEqual([]);
    expect(problems.some((problem) => problem.includes("CORS"))).toBe(true);
  } finally {
    await page.close();
  }
});

describe("CORS on the gateway", () => {
  const GENERATE = "/weaver.gateway.v1.GatewayService/Generate";

  test("answers an allowed origin's preflight with Connect's and gRPC-Web's methods and headers", async () => {
    for (const path of [GENERATE, "/v1/chat/completions"]) {
      const response = await fetch(`${gateway().url}${path}`, {
        method: "OPTIONS",
        headers: {
          origin: siteOrigin(),
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version,x-grpc-web",
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(siteOrigin());
      expect(response.headers.get("access-control-allow-methods")).toBe("POST, GET");
      const allowed = response.headers.get("access-control-allow-headers")?.toLowerCase().split(", ");
      expect(allowed).toEqual(
        expect.arrayContaining(["content-type", "connect-protocol-version", "x-grpc-web", "authorization"]),
      );
    }
  });

  test("lets an allowed origin read the response and its gRPC-Web status headers", async () => {
    const response = await fetch(`${gateway().url}/weaver.gateway.v1.GatewayService/ListModels`, {
      method: "POST",
      headers: { origin: siteOrigin(), "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(siteOrigin());
    expect(response.headers.get("access-control-expose-headers")?.toLowerCase().split(", ")).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]),
    );
    expect(response.headers.get("vary")).toBe("Origin");
  });

  test("gives any other origin no CORS headers", async () => {
    const response = await fetch(`${gateway().url}${GENERATE}`, {
      method: "OPTIONS",
      headers: { origin: "https://elsewhere.example", "access-control-request-method": "POST" },
    });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(response.headers.get("access-control-allow-methods")).toBeNull();
  });

  test("is off when no origin is allowed", () => {
    const handler = () => {};
    expect(withCors(handler, { allowedOrigins: [] })).toBe(handler);
  });
});
