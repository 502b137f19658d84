// Upstream error messages may quote a key ("Incorrect API key provided: sk-ab***yz"); Google's begin AIza.
const KEY_LIKE =
  /\b(sk-[A-Za-z0-9_*.-]{6,}|sk-ant-[A-Za-z0-9_*.-]{6,}|Bearer\s+[A-Za-z0-9_*.-]{6,}|AIza[A-Za-z0-9_-]{30,})/g;

/** The configured keys themselves: a key of any shape (Azure's are 32 hex digits) is removed too. */
const knownSecrets = new Set<string>();

/** Makes `redactSecrets` remove this exact value wherever it appears (a configured API key). */
export function registerSecret(secret: string): void {
  if (secret.length >= 8) knownSecrets.add(secret);
}

/** Removes the configured keys and anything shaped like an API key before a message reaches a caller or a log. */
export function redactSecrets(text: string): string {
  let redacted = text;
  for (const secret of knownSecrets) redacted = redacted.replaceAll(secret, "[redacted]");
  return redacted.replace(KEY_LIKE, "[redacted]");
}
