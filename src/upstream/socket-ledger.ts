import { subscribe } from "node:diagnostics_channel";
import { constants } from "node:http2";
import type { Socket } from "node:net";
import type { OriginCounters } from "./origin-counters.js";

/**
 * Counts what undici's own sockets do. Sockets enter the ledger through our connector
 * (`trackSocket`), so the diagnostics events of every other undici user are ignored.
 */

/** Tags each upstream request so its socket can be told to the caller. */
export const REQUEST_TAG_HEADER = "x-weaver-request-id";

/** How a request travelled, learned when its headers were written to a socket. */
export interface ConnectionFacts {
  protocol: string;
  reused: boolean;
}

interface SocketRecord {
  readonly socket: Socket;
  readonly counters: OriginCounters;
  readonly protocol: string;
  readonly onIdle: (() => void) | undefined;
  requests: number;
  inFlight: number;
  closed: boolean;
}

// Diagnostics payloads are undici internals; only these fields are read.
interface UndiciRequest {
  headers: string[] | string;
}

const sockets = new WeakMap<object, SocketRecord>();
const requestSockets = new WeakMap<object, SocketRecord>();
const awaitingFacts = new Map<string, (facts: ConnectionFacts) => void>();

/** Enters a freshly connected socket of one of our pools into the ledger. */
export function trackSocket(
  socket: Socket,
  counters: OriginCounters,
  protocol: string,
  onIdle?: () => void,
): void {
  const record: SocketRecord = {
    socket,
    counters,
    protocol,
    onIdle,
    requests: 0,
    inFlight: 0,
    closed: false,
  };
  sockets.set(socket, record);
  socket.once("close", () => {
    record.closed = true;
    counters.activeConnections--;
    if (record.inFlight > 0) counters.busyConnections--;
  });
}

/** Calls `report` once the request tagged `tag` has its headers written to a socket. */
export function awaitConnectionFacts(tag: string, report: (facts: ConnectionFacts) => void): () => void {
  awaitingFacts.set(tag, report);
  return () => awaitingFacts.delete(tag);
}

/** Whether a tracked socket is open with no request in flight. */
export function isIdle(socket: Socket): boolean {
  const record = sockets.get(socket);
  return record !== undefined && !record.closed && record.inFlight === 0;
}

subscribe("undici:client:sendHeaders", (message) => {
  const { request, socket } = message as { request: UndiciRequest; socket: Socket };
  const record = sockets.get(socket);
  if (record === undefined) return;
  // undici sends a refused or unprocessed request again by itself (REFUSED_STREAM, GOAWAY), with
  // no completion for the attempt before: that attempt is over now.
  onRequestDone(message);
  const { counters } = record;
  const reused = record.requests > 0;
  record.requests++;
  counters.requestsTotal++;
  if (reused) counters.requestsOnReusedConnections++;
  if (record.inFlight++ === 0) counters.busyConnections++;
  counters.inFlight++;
  requestSockets.set(request, record);
  const tag = findTag(request.headers);
  if (tag !== undefined) awaitingFacts.get(tag)?.({ protocol: record.protocol, reused });
});

function onRequestDone(message: unknown): void {
  const { request } = message as { request: object };
  const record = requestSockets.get(request);
  if (record === undefined) return;
  requestSockets.delete(request);
  record.counters.inFlight--;
  if (--record.inFlight === 0 && !record.closed) {
    record.counters.busyConnections--;
    record.onIdle?.();
  }
}
subscribe("undici:request:trailers", onRequestDone);
subscribe("undici:request:error", (message) => {
  retireIfAskedToCalmDown(message);
  onRequestDone(message);
});

/**
 * A stream reset with ENHANCE_YOUR_CALM says the upstream has had enough of this connection (a
 * Node server past its rejected-stream limit resets every new stream so, and the session lives
 * on): the connection is closed, so the pool opens a fresh one instead of failing every request.
 */
function retireIfAskedToCalmDown(message: unknown): void {
  const { request, error } = message as { request: object; error?: { http2ErrorCode?: unknown } };
  if (error?.http2ErrorCode !== constants.NGHTTP2_ENHANCE_YOUR_CALM) return;
  requestSockets.get(request)?.socket.destroy();
}

function findTag(headers: string[] | string): string | undefined {
  if (typeof headers === "string") {
    const start = headers.indexOf(`${REQUEST_TAG_HEADER}: `);
    if (start < 0) return undefined;
    const from = start + REQUEST_TAG_HEADER.length + 2;
    return headers.slice(from, headers.indexOf("\r\n", from));
  }
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === REQUEST_TAG_HEADER) return headers[i + 1];
  }
  return undefined;
}
