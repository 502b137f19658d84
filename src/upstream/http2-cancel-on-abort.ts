import { subscribe } from "node:diagnostics_channel";
import { type ClientHttp2Stream, constants } from "node:http2";
import { REQUEST_TAG_HEADER } from "./socket-ledger.js";

/**
 * undici (8.13) aborts an HTTP/2 request with `stream.close()`, an RST_STREAM of NO_ERROR, and
 * destroys the stream right after. Node (24.21) holds a NO_ERROR reset back until the stream's
 * pending data is flushed; for a stream destroyed meanwhile, its session then spins in
 * SendPendingData and its output buffer grows by hundreds of MB a second. One caller cancelling
 * while a slow answer was arriving froze the whole gateway (the chaos and soak runs found it;
 * `bench/repro/undici-h2-abort-spin.ts` shows it with undici alone, and its `cancel` mode shows
 * this fix ending it). An abandoned stream is what CANCEL is for (RFC 9113, section 7), and Node
 * sends that at once: so a close without a code, on the streams of our pools, says CANCEL.
 */
let installed = false;

/** Makes an abandoned stream of our pools say CANCEL; once per process, however many pools. */
export function installHttp2CancelOnAbort(): void {
  if (installed) return;
  installed = true;
  subscribe("http2.client.stream.created", (message) => {
    const { stream, headers } = message as { stream: ClientHttp2Stream; headers: Record<string, unknown> };
    if (headers[REQUEST_TAG_HEADER] === undefined) return;
    const close = stream.close;
    stream.close = (code = constants.NGHTTP2_CANCEL, callback) => {
      close.call(stream, code === constants.NGHTTP2_NO_ERROR ? constants.NGHTTP2_CANCEL : code, callback);
    };
  });
}
