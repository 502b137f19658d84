/**
 * A content-type header's media type, without parameters and lower-cased:
 * `text/event-stream; charset=utf-8` is `text/event-stream`; absent is "".
 */
export function mediaType(header: string | string[] | undefined): string {
  return String(header ?? "")
    .replace(/;.*/s, "")
    .trim()
    .toLowerCase();
}
