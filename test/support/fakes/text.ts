import { randomBytes } from "node:crypto";

/** The answer when a scenario names none. */
export const DEFAULT_TEXT = "Hello from the fake upstream.";

/** The fake's tokens: each word with the whitespace before it ("Hello", " from", ...). */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** The fake's prompt token count: whitespace-separated words. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The text of a message `content`: a string, or the `text` of its text parts. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (part && typeof part === "object" && "text" in part ? String(part.text) : ""))
    .join(" ");
}

/** Words in every message's text (and a system prompt): the fake's exact prompt/input token count. */
export function promptTokens(messages: unknown, system?: unknown): number {
  const list = Array.isArray(messages) ? (messages as { content?: unknown }[]) : [];
  return countWords([contentText(system), ...list.map((m) => contentText(m?.content))].join(" "));
}

/** A random id like real ones: `prefix` then `length` base62 characters. */
export function randomId(prefix: string, length = 24): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return prefix + [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join("");
}

/** `tokens` cut to `limit`, and whether the limit cut them. */
export function limitTokens(tokens: string[], limit: unknown): { tokens: string[]; cut: boolean } {
  if (typeof limit !== "number" || limit >= tokens.length) return { tokens, cut: false };
  return { tokens: tokens.slice(0, Math.max(0, limit)), cut: true };
}

/** Splits `text` into about `parts` fragments (for streamed JSON arguments). */
export function fragments(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

/** An SSE frame: optional `event:` line, one `data:` line, blank line. */
export function sse(data: unknown, event?: string): string {
  const json = typeof data === "string" ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ""}data: ${json}\n\n`;
}
