import { connect, type Socket } from "node:net";
import { CASE_GUARD_MS, type Exchange, emptyExchange } from "./exchange.js";
import type { HttpCase } from "./fuzz-case.js";

/**
 * Sends a case over HTTP/1.1 on a raw socket, so every byte is the case's own (Node's client
 * would refuse odd header values), with `connection: close`; reads until the answer is whole or
 * the gateway closes. The client half-closes after the request only when the case says so.
 */
export function sendHttp1(port: number, c: HttpCase): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (why: { ended?: string; hung?: boolean }) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks)), ...why });
    };
    const guard = setTimeout(() => finish({ hung: true }), CASE_GUARD_MS);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // Answered in full (say, a 413 while the body is still being written): no need to wait for the close.
      if (isComplete(Buffer.concat(chunks))) finish({});
    });
    socket.on("end", () => finish({ ended: "closed" }));
    socket.on("error", (error: NodeJS.ErrnoException) => finish({ ended: error.code ?? error.message }));
    socket.on("connect", () => {
      const lines = [`${c.method} ${c.path} HTTP/1.1`, "host: 127.0.0.1", "connection: close"];
      for (const [name, value] of c.headers) lines.push(`${name}: ${value}`);
      if (c.method !== "GET" && c.method !== "HEAD") lines.push(`content-length: ${c.body.length}`);
      socket.write(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"));
      void writeBody(socket, c.body, () => chunks.length > 0).then(() => {
        if (c.halfClose && !socket.destroyed) socket.end();
      });
    });
  });
}

/** The body in 64 KiB pieces, stopping once an answer has begun, as curl and careful clients do. */
async function writeBody(socket: Socket, body: Uint8Array, answered: () => boolean): Promise<void> {
  for (let offset = 0; offset < body.length && !answered() && !socket.destroyed; offset += 65_536) {
    if (!socket.write(body.subarray(offset, offset + 65_536)))
      await new Promise((resolve) => {
        socket.once("drain", resolve);
        socket.once("close", resolve);
      });
  }
}

interface Parsed {
  status?: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
}

/** The head, and the body as its framing says (content-length, chunked with trailers, or to the close). */
function parseResponse(bytes: Buffer): Parsed {
  const empty = emptyExchange();
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return empty;
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) return empty;
  const headers = fieldsOf(headerLines);
  const rest = bytes.subarray(headEnd + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) return { status, headers, ...dechunk(rest) };
  const length = Number(headers["content-length"] ?? Number.NaN);
  return { status, headers, body: Number.isInteger(length) ? rest.subarray(0, length) : rest, trailers: {} };
}

function fieldsOf(lines: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    fields[name] = fields[name] === undefined ? value : `${fields[name]}, ${value}`;
  }
  return fields;
}

function dechunk(bytes: Buffer): { body: Buffer; trailers: Record<string, string>; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset);
    if (lineEnd < 0) return { body: Buffer.concat(parts), trailers: {}, complete: false };
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString("latin1"), 16);
    if (!Number.isInteger(size)) return { body: Buffer.concat(parts), trailers: {}, complete: false };
    if (size === 0) {
      const end = bytes.indexOf("\r\n\r\n", lineEnd);
      const trailerText = end < 0 ? "" : bytes.subarray(lineEnd + 2, end).toString("latin1");
      return {
        body: Buffer.concat(parts),
        trailers: fieldsOf(trailerText.split("\r\n")),
        complete: end >= 0 || bytes.subarray(lineEnd).toString() === "\r\n\r\n",
      };
    }
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** Whether the bytes hold a whole response, by its own framing. */
function isComplete(bytes: Buffer): boolean {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return false;
  const head = fieldsOf(bytes.subarray(0, headEnd).toString("latin1").split("\r\n").slice(1));
  const rest = bytes.subarray(headEnd + 4);
  if (head["transfer-encoding"]?.includes("chunked")) return dechunk(rest).complete;
  const length = Number(head["content-length"] ?? Number.NaN);
  return Number.isInteger(length) && rest.length >= length;
}
