import { GatewayError } from "../errors/gateway-error.js";
import type { ContentDelta, Reasoning, StreamFinish, ToolCall, WireStreamFinish } from "./provider.js";

/**
 * Assembles a stream's pieces as they pass: tool calls by index (id and name from their first
 * piece, arguments appended), reasoning blocks by index, the refusal. The finish event carries
 * them whole, the same for every provider, so a caller may read the pieces or the finish.
 */
export class StreamAssembler {
  private readonly toolCalls: ToolCall[] = [];
  private readonly reasoning: Reasoning[] = [];
  private refusal = "";

  constructor(private readonly provider: string) {}

  add(delta: ContentDelta): void {
    switch (delta.type) {
      case "delta":
        return;
      case "refusal_delta":
        this.refusal += delta.text;
        return;
      case "tool_call_delta": {
        const call = this.toolCalls[delta.index];
        if (call === undefined) {
          if (delta.index !== this.toolCalls.length || !delta.id || !delta.name)
            throw this.malformed(`tool call ${delta.index} began without its id and name, or out of order`);
          this.toolCalls.push({ id: delta.id, name: delta.name, arguments: delta.arguments });
        } else call.arguments += delta.arguments;
        return;
      }
      case "reasoning_delta": {
        let block = this.reasoning[delta.index];
        if (block === undefined) {
          if (delta.index !== this.reasoning.length)
            throw this.malformed(`reasoning block ${delta.index} arrived out of order`);
          block = { text: "" };
          this.reasoning.push(block);
        }
        block.text += delta.text ?? "";
        if (delta.signature !== undefined) block.signature = (block.signature ?? "") + delta.signature;
        if (delta.redactedData !== undefined) block.redactedData = delta.redactedData;
        return;
      }
    }
  }

  /** The decoder's finish, with the content assembled from the pieces. */
  finish(finish: WireStreamFinish): StreamFinish {
    return { ...finish, toolCalls: this.toolCalls, reasoning: this.reasoning, refusal: this.refusal };
  }

  private malformed(problem: string): GatewayError {
    return new GatewayError("unavailable", `${this.provider} sent a malformed stream: ${problem}`, {
      reason: "UPSTREAM_MALFORMED",
    });
  }
}
