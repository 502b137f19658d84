import { invalid } from "./invalid-field.js";

/**
 * What a request carries, in bytes, against `server.max_request_bytes`: text, tool schemas and
 * arguments, and images, counted as they are read so the limit names the request's whole size.
 */
/** What an element of a request costs beside its text: a million empty parts are not free. */
const ELEMENT_BYTES = 32;

export class RequestSize {
  private bytes = 0;

  constructor(private readonly limit: number) {}

  add(...texts: (string | undefined)[]): void {
    for (const text of texts) if (text) this.bytes += Buffer.byteLength(text);
  }

  addBytes(count: number): void {
    this.bytes += count;
  }

  /** One element (a part, a tool, a tool call): it costs its own structure, even empty. */
  addElement(): void {
    this.bytes += ELEMENT_BYTES;
  }

  check(): void {
    if (this.bytes > this.limit)
      invalid(
        "messages",
        `carry ${this.bytes} bytes, over the limit of ${this.limit} bytes (server.max_request_bytes)`,
      );
  }
}
