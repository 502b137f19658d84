/** A hostile HTTP/2 and HTTP/1.1 client on bare sockets, shared by `npm run flood` and the abuse test. */
export { type FloodOutcome, GENERATE_PATH, pingFlood, rapidReset, settingsFlood } from "./frame-floods.js";
export { ErrorCode, errorCodeName } from "./frames.js";
export { RawH2Connection, type Target } from "./raw-h2-connection.js";
export {
  type HoldSummary,
  idleHttp2Connections,
  SocketHold,
  silentConnections,
  slowloris,
} from "./socket-holds.js";
