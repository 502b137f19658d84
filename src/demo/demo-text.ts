const WORDS = (
  "the a gateway pools streams every request over one warm connection so handshakes are paid once " +
  "and tokens flow back as they are made while the router keeps its deadline and the pool keeps count " +
  "of sockets reused latency saved bytes sent models served quickly calmly"
).split(" ");

/** Tokens generated when the caller sets no max_tokens. */
export const DEFAULT_DEMO_TOKENS = 24;

/** Deterministic tokens derived from the prompt: the same prompt always gets the same text. */
export function demoTokens(prompt: string, count: number): string[] {
  let state = fnv1a(prompt) || 1;
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const word = WORDS[(state >>> 0) % WORDS.length] as string;
    tokens.push(i === 0 ? word : ` ${word}`);
  }
  return tokens;
}

/** A rough token count, one per whitespace-separated word, as the demo's usage. */
export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
