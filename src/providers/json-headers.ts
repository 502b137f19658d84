/**
 * The headers every call of a JSON API carries: the config's extra headers first, then the content
 * types and the credential, which no extra header replaces. A credential left unset is not sent.
 */
export function jsonHeaders(
  extra: Record<string, string> | undefined,
  credential: Record<string, string | undefined> = {},
): Record<string, string> {
  const headers: Record<string, string> = {
    ...extra,
    "content-type": "application/json",
    accept: "application/json",
  };
  for (const [name, value] of Object.entries(credential)) if (value) headers[name] = value;
  return headers;
}
