import type { Socket } from "node:net";

/** Every HTTP/2 connection opens with these 24 bytes (RFC 9113, section 3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Reads just enough of a cleartext connection to tell HTTP/2 prior knowledge from HTTP/1.1,
 * puts the bytes back, and hands the socket on. A lone "P" may begin a POST, so it waits
 * until the bytes either diverge from the preface or complete it.
 */
export function sniffHttpVersion(
  socket: Socket,
  timeoutMs: number,
  route: (isHttp2: boolean, seen: Buffer) => void,
): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const isPrefix = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isPrefix && seen.length < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.off("end", onEnd);
    socket.off("error", onError);
    socket.setTimeout(0);
    socket.pause();
    route(isPrefix, seen);
  };
  const onEnd = () => socket.destroy();
  // Until a server owns the socket, a reset is ours to swallow, or it would crash the process.
  const onError = () => socket.destroy();
  socket.on("data", onData);
  socket.on("end", onEnd);
  socket.on("error", onError);
  // A connection that says nothing is closed before it holds a slot.
  socket.setTimeout(timeoutMs, () => socket.destroy());
}
