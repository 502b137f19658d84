// Upstream error messages may quote a key ("Incorrect API key provided: sk-ab***yz").
const KEY_LIKE = /\b(sk-[A-Za-z0-9_*.-]{6,}|sk-ant-[A-Za-z0-9_*.-]{6,}|Bearer\s+[A-Za-z0-9_*.-]{6,})/g;

/** Removes anything shaped like an API key before a message reaches a caller or a log. */
export function redactSecrets(text: string): string {
  return text.replace(KEY_LIKE, "[redacted]");
}
