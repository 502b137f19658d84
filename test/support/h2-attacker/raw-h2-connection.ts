import { connect, type Socket } from "node:net";
import {
  CONNECTION_PREFACE,
  Flags,
  type Frame,
  FrameReader,
  FrameType,
  type GoAway,
  parseGoAway,
  settingsAck,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.js";

/** Where the attacker connects: a cleartext gateway port. */
export interface Target {
  host: string;
  port: number;
}

/** A GOAWAY as the attacker saw it. */
export interface ReceivedGoAway extends GoAway {
  /** Since the connection opened. */
  atMs: number;
  /** Frames this side had written when it arrived. */
  framesSentBefore: number;
}

/** How the server ended the connection, if it did: a FIN, a reset, or a write that failed. */
export type ServerEnd = "fin" | "reset" | "write-failed";

/**
 * One HTTP/2 client connection on a bare TCP socket: frames go out exactly as given, and every
 * frame the server sends back is read, counted, and SETTINGS acknowledged, unless reading is paused.
 */
export class RawH2Connection {
  framesSent = 0;
  /** Frames received, by type. */
  readonly received = new Map<number, number>();
  /** The first GOAWAY: when it came and how much had been sent by then. */
  goaway: ReceivedGoAway | undefined;
  /** Every GOAWAY's error code, in order: a server may send NO_ERROR first and its reason last. */
  readonly goawayCodes: number[] = [];
  /** Set when the server ended the connection (not when this side destroyed it). */
  serverEnd: ServerEnd | undefined;
  /** Since the connection opened: when it ended, whoever ended it. */
  closedAtMs: number | undefined;
  private readonly reader = new FrameReader();
  private readonly openedAt = performance.now();
  private destroyedHere = false;
  private readonly closed: Promise<void>;
  private gotSettings!: () => void;
  private readonly settingsReceived = new Promise<void>((resolve) => {
    this.gotSettings = resolve;
  });

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.onFrame(frame);
    });
    socket.on("end", () => {
      this.serverEnd ??= "fin";
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (this.destroyedHere) return;
      this.serverEnd ??= error.code === "EPIPE" ? "write-failed" : "reset";
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.closedAtMs = this.elapsedMs();
        resolve();
      }),
    );
  }

  /**
   * Connects and opens HTTP/2 as a real client does: preface, SETTINGS, a connection WINDOW_UPDATE;
   * then waits for the server's SETTINGS and acknowledges them.
   */
  static async open(target: Target, settingsGuardMs = 10_000): Promise<RawH2Connection> {
    const socket = connect({ host: target.host, port: target.port });
    const connection = new RawH2Connection(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.write(Buffer.concat([CONNECTION_PREFACE, settingsFrame(), windowUpdateFrame(0, 1 << 20)]));
    connection.framesSent += 2;
    const guard = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("no SETTINGS from the server")), settingsGuardMs).unref(),
    );
    await Promise.race([connection.settingsReceived, guard, connection.closed]);
    return connection;
  }

  /** True once the server sent GOAWAY or ended the connection: more frames would be wasted. */
  get cutOff(): boolean {
    return this.goaway !== undefined || this.serverEnd !== undefined || this.socket.destroyed;
  }

  elapsedMs(): number {
    return performance.now() - this.openedAt;
  }

  count(type: number): number {
    return this.received.get(type) ?? 0;
  }

  /** Writes `frames` frames in one buffer; resolves when the socket can take more, or is gone. */
  async write(bytes: Buffer, frames: number): Promise<void> {
    if (this.socket.destroyed) return;
    this.framesSent += frames;
    if (this.socket.write(bytes)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.once("drain", done);
      this.socket.once("close", done);
    });
  }

  /** Stops reading: what the server sends piles up in its buffers and in the kernel's. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Resolves once the server has ended the connection, or after `ms`; true if it ended it. */
  async serverEnded(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([this.closed, timeout]);
    clearTimeout(timer);
    return this.serverEnd !== undefined || (this.closedAtMs !== undefined && !this.destroyedHere);
  }

  destroy(): void {
    if (this.socket.destroyed) return;
    this.destroyedHere = true;
    this.socket.destroy();
  }

  private onFrame(frame: Frame): void {
    this.received.set(frame.type, this.count(frame.type) + 1);
    if (frame.type === FrameType.SETTINGS && (frame.flags & Flags.ACK) === 0) {
      if (!this.socket.destroyed) {
        this.socket.write(settingsAck());
        this.framesSent++;
      }
      this.gotSettings();
    } else if (frame.type === FrameType.GOAWAY) {
      const goaway = parseGoAway(frame.payload);
      this.goawayCodes.push(goaway.code);
      this.goaway ??= { ...goaway, atMs: this.elapsedMs(), framesSentBefore: this.framesSent };
    }
  }
}
