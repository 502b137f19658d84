/** What a content block (by the upstream's index, which counts every block) is in our terms. */
export type OpenBlock<Other extends string> =
  | { kind: "tool_call" | "reasoning"; index: number }
  | { kind: Other };

/**
 * The content blocks of an Anthropic-style stream (Anthropic's, Bedrock's Converse), by the
 * upstream's block index. Tool calls and reasoning blocks are numbered per kind from 0, as the
 * contract numbers them; other blocks are only remembered, so their deltas can be told apart.
 */
export class StreamBlocks<Other extends string> {
  private readonly blocks = new Map<number, OpenBlock<Other>>();
  private readonly counts = { tool_call: 0, reasoning: 0 };

  /** Opens the block at `at` as the next of its kind; returns its number within the kind. */
  open(at: number, kind: "tool_call" | "reasoning"): number {
    const block = { kind, index: this.counts[kind]++ };
    this.blocks.set(at, block);
    return block.index;
  }

  /** Remembers the block at `at` as one that is not numbered. */
  mark(at: number, kind: Other): void {
    this.blocks.set(at, { kind });
  }

  get(at: number): OpenBlock<Other> | undefined {
    return this.blocks.get(at);
  }
}
