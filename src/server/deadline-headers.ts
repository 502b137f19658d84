import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { MAX_TIMER_MS } from "../service/call-bounds.js";

const HOUR_MS = 3_600_000;
/** gRPC's timeout units (`grpc-timeout`: up to 8 digits and a unit), in ms. */
const GRPC_UNIT_MS: Record<string, number> = {
  H: HOUR_MS,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};
/** The longest gRPC timeout that fits Node's timers: 596 hours. */
const LONGEST_GRPC_TIMEOUT = `${Math.floor(MAX_TIMER_MS / HOUR_MS)}H`;

/**
 * Holds a caller's deadline header (gRPC's `grpc-timeout`, Connect's `connect-timeout-ms`) to
 * Node's longest timer before connect-node arms a timer for it: a longer one (`600H` is legal)
 * would fire after 1 ms and end the call DEADLINE_EXCEEDED at once.
 */
export function holdDeadlineHeaders(req: IncomingMessage | Http2ServerRequest): void {
  const headers = req.headers;
  const grpc = headers["grpc-timeout"];
  const match = typeof grpc === "string" ? /^(\d{1,8})([HMSmun])$/.exec(grpc) : null;
  if (match && Number(match[1]) * (GRPC_UNIT_MS[match[2] ?? ""] ?? 0) > MAX_TIMER_MS)
    headers["grpc-timeout"] = LONGEST_GRPC_TIMEOUT;
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect) && Number(connect) > MAX_TIMER_MS)
    headers["connect-timeout-ms"] = String(MAX_TIMER_MS);
}
