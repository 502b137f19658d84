import { invalid } from "./invalid-field.js";

/**
 * What a request carries, in bytes, against `server.max_request_bytes`: text, tool schemas and
 * arguments, and images, counted as they are read so the limit names the request's whole size.
 */
export class RequestSize {
  private bytes = 0;

  constructor(private readonly limit: number) {}

  add(...texts: (string | undefined)[]): void {
    for (const text of texts) if (text) this.bytes += Buffer.byteLength(text);
  }

  addBytes(count: number): void {
    this.bytes += count;
  }

  check(): void {
    if (this.bytes > this.limit)
      invalid(
        "messages",
        `carry ${this.bytes} bytes, over the limit of ${this.limit} bytes (server.max_request_bytes)`,
      );
  }
}
