import { type ClientHttp2Stream, connect, type IncomingHttpHeaders } from "node:http2";
import { CASE_GUARD_MS, type Exchange, emptyExchange } from "./exchange.js";
import type { HttpCase } from "./fuzz-case.js";

/** Sends a case as one stream of a fresh cleartext HTTP/2 session, so no case can spoil another's. */
export function sendHttp2(port: number, c: HttpCase): Promise<Exchange> {
  return new Promise((resolve) => {
    const exchange = emptyExchange();
    const chunks: Buffer[] = [];
    // Room for the long header values a case may carry, and for its body: a body queued whole
    // counts against the client's own session memory (10 MB by default), and past it Node resets
    // the stream itself with ENHANCE_YOUR_CALM before the gateway could answer.
    const session = connect(`http://127.0.0.1:${port}`, {
      maxHeaderListPairs: 4096,
      maxSendHeaderBlockLength: 1 << 20,
      maxSessionMemory: 256,
    });
    let done = false;
    const finish = (why: Partial<Exchange>) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      session.destroy();
      resolve({ ...exchange, body: Buffer.concat(chunks), ...why });
    };
    const guard = setTimeout(() => finish({ hung: true }), CASE_GUARD_MS);
    session.on("error", (error: NodeJS.ErrnoException) => finish({ ended: error.code ?? error.message }));
    session.on("goaway", (code: number) => {
      if (code !== 0) exchange.ended = `goaway ${code}`;
    });
    session.on("close", () => finish({ ended: exchange.ended ?? "closed" }));
    let stream: ClientHttp2Stream;
    try {
      const headers: Record<string, string | string[]> = { ":method": c.method, ":path": c.path };
      for (const [name, value] of c.headers) {
        const previous = headers[name];
        headers[name] = previous === undefined ? value : [...[previous].flat(), value];
      }
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      finish({ unsent: (error as Error).message });
      return;
    }
    stream.on("response", (headers: IncomingHttpHeaders) => {
      exchange.status = Number(headers[":status"]);
      exchange.headers = flatten(headers);
    });
    stream.on("trailers", (trailers: IncomingHttpHeaders) => {
      exchange.trailers = flatten(trailers);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error: NodeJS.ErrnoException) => {
      exchange.ended = error.code ?? error.message;
    });
    stream.on("close", () => {
      const reset =
        stream.rstCode !== undefined && stream.rstCode !== 0 ? `reset ${stream.rstCode}` : undefined;
      finish({ ended: reset ?? exchange.ended ?? "ended" });
    });
    // The gateway may answer and reset before the body is all written; what it answered still counts.
    stream.end(c.body);
  });
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) flat[name] = [value].flat().join(", ");
  return flat;
}
