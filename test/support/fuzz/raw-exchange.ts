import { connect } from "node:net";
import { type Exchange, emptyExchange } from "./exchange.js";
import type { RawCase } from "./fuzz-case.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** An empty SETTINGS frame: the rest of a valid client connection preface. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
/** How long a garbage connection is watched for an answer or a close before the harness hangs up. */
const WATCH_MS = 400;

/** Writes the case's bytes to a fresh connection and notes what came back within a moment. */
export function sendRaw(port: number, c: RawCase): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ended: string) => {
      if (done) return;
      done = true;
      clearTimeout(watch);
      socket.destroy();
      const body = Buffer.concat(chunks);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(body.toString("latin1"))?.[1]);
      resolve({ ...emptyExchange(), body, ended, ...(Number.isInteger(status) ? { status } : {}) });
    };
    const watch = setTimeout(() => finish("still open (the harness hung up)"), WATCH_MS);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish("closed"));
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on("connect", () => {
      if (c.afterPreface) socket.write(Buffer.concat([PREFACE, EMPTY_SETTINGS]));
      socket.write(c.bytes);
    });
  });
}
