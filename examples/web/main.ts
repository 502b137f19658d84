// Calls weaver-gateway from a web page with @weaver-gateway/client (its browser entry, over fetch):
// Generate, GenerateStream and PoolStats.
// The gateway's URL comes from ?gateway=..., the protocol from ?transport=connect|grpc-web.
import {
  ConnectError,
  createGatewayClient,
  FinishReason,
  type GatewayClient,
  type PoolCounters,
} from "@weaver-gateway/client";

const params = new URLSearchParams(location.search);
const baseUrl = params.get("gateway") ?? "http://127.0.0.1:8080";

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const prompt = element<HTMLInputElement>("prompt");
const maxTokens = element<HTMLInputElement>("max-tokens");
const transport = element<HTMLSelectElement>("transport");
const output = element<HTMLDivElement>("output");
const status = element<HTMLParagraphElement>("status");

element("gateway").textContent = baseUrl;
transport.value = params.get("transport") === "grpc-web" ? "grpc-web" : "connect";

function client(): GatewayClient {
  return createGatewayClient({ baseUrl, transport: transport.value === "grpc-web" ? "grpc-web" : "connect" });
}

function request() {
  return {
    model: params.get("model") ?? "demo",
    messages: [{ role: "user", content: prompt.value }],
    maxTokens: Number(maxTokens.value) || undefined,
  };
}

function report(text: string, failed = false): void {
  status.textContent = text;
  status.classList.toggle("error", failed);
}

/** Runs one call with the buttons disabled; failures show in the status line. */
async function run(label: string, call: () => Promise<string>): Promise<void> {
  const buttons = document.querySelectorAll("button");
  for (const button of buttons) button.disabled = true;
  output.textContent = "";
  report(`${label}…`);
  try {
    report(await call());
  } catch (error) {
    report(`${label} failed: ${ConnectError.from(error).message}${corsHint(error)}`, true);
  } finally {
    for (const button of buttons) button.disabled = false;
    await showStats();
  }
}

/**
 * A browser hides why a cross-origin request failed from the page ("Failed to fetch"), and the
 * likely cause is the gateway's CORS settings: say so, with the lines that allow this page.
 */
function corsHint(error: unknown): string {
  const failedFetch = error instanceof TypeError || /fetch/i.test(ConnectError.from(error).rawMessage);
  if (!failedFetch || new URL(baseUrl).origin === location.origin) return "";
  return (
    `. If the gateway is running at ${baseUrl}, its CORS settings likely do not allow this page's ` +
    `origin; add to its config:\nserver:\n  cors:\n    allowed_origins: ["${location.origin}"]`
  );
}

element<HTMLFormElement>("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  void run("Generate", async () => {
    const reply = await client().generate(request());
    output.textContent = reply.text;
    return `Generate done: ${reply.usage?.outputTokens} tokens, ${FinishReason[reply.finishReason]}`;
  });
});

element("stream").addEventListener("click", () => {
  void run("Stream", async () => {
    let tokens = 0;
    for await (const { event } of client().generateStream(request())) {
      if (event.case === "delta") {
        // Each piece of text lands in the page as soon as it arrives.
        output.append(event.value.text);
        report(`Streaming… ${++tokens} tokens`);
      }
      if (event.case === "finish") {
        const reused = event.value.upstream?.connectionReused;
        return `Stream done: ${event.value.usage?.outputTokens} tokens, ${FinishReason[event.value.finishReason]}, upstream connection reused: ${reused}`;
      }
    }
    return "Stream ended without a finish event";
  });
});

element("refresh").addEventListener("click", () => void showStats());

async function showStats(): Promise<void> {
  try {
    const stats = await client().poolStats({});
    const totals = stats.totals;
    element("reuse-rate").textContent = percent(totals?.reuseRate ?? 0);
    element("requests").textContent = String(totals?.requestsTotal ?? 0n);
    element("connections").textContent = String(totals?.connectionsCreatedTotal ?? 0n);
    element("active-connections").textContent = String(totals?.activeConnections ?? 0);
    element("origins").replaceChildren(
      ...stats.origins.map(({ origin, protocol, counters }) => row(origin, protocol, counters)),
    );
    element("stats-status").textContent = `As of ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    element("stats-status").textContent = `PoolStats failed: ${ConnectError.from(error).message}`;
  }
}

function row(origin: string, protocol: string, counters: PoolCounters | undefined): HTMLTableRowElement {
  const tr = document.createElement("tr");
  const cells = [
    origin,
    protocol || "–",
    String(counters?.requestsTotal ?? 0n),
    String(counters?.requestsOnReusedConnections ?? 0n),
    String(counters?.connectionsCreatedTotal ?? 0n),
  ];
  for (const text of cells) tr.insertCell().textContent = text;
  return tr;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

void showStats();
