/**
 * A `data:` URL's media type and payload as base64 (a URL-encoded payload is re-encoded), or
 * undefined for any other URL: APIs that take images inline want the two apart.
 */
export function parseDataUrl(url: string): { mediaType: string; base64: string } | undefined {
  const data = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!data) return undefined;
  const [, mediaType = "", parameters = "", payload = ""] = data;
  const base64 = parameters.split(";").includes("base64")
    ? payload
    : Buffer.from(decodeURIComponent(payload), "utf8").toString("base64");
  return { mediaType, base64 };
}
