import { randomBytes } from "node:crypto";
import { GatewayError } from "../../errors/gateway-error.js";
import type { ContentDelta, NonTextContent, ParsedCompletion } from "../provider.js";
import { StreamAssembler } from "../stream-assembler.js";
import { finishReasonOf, type GeminiUsage, toUsage } from "./finish-reason.js";

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: unknown };
  executableCode?: unknown;
  codeExecutionResult?: unknown;
}

/** A GenerateContentResponse: a whole answer, or one chunk of a stream. */
export interface GenerateContentResponse {
  candidates?: {
    content?: { parts?: GeminiPart[]; role?: string };
    finishReason?: string;
    index?: number;
  }[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: GeminiUsage;
  responseId?: string;
  modelVersion?: string;
}

/** Reads a whole GenerateContentResponse: the same pieces as its stream, put together the same way. */
export function parseGenerateContent(json: unknown, provider: string): ParsedCompletion {
  const response = json as GenerateContentResponse | null;
  const candidate = response?.candidates?.[0];
  if (candidate === undefined && !response?.promptFeedback?.blockReason)
    throw malformed(provider, "answered with neither a candidate nor a blocked prompt");
  const reader = new PartReader(provider);
  const assembler = new StreamAssembler(provider);
  let text = "";
  for (const piece of reader.read(candidate?.content?.parts)) {
    if (piece.type === "delta") text += piece.text;
    assembler.add(piece);
  }
  const { type: _, ...finish } = assembler.finish({
    type: "finish",
    finishReason: finishReasonOf(
      candidate?.finishReason,
      response?.promptFeedback?.blockReason,
      reader.madeToolCalls,
    ),
    usage: toUsage(response?.usageMetadata),
    nonTextContent: [...reader.nonText],
  });
  return { id: response?.responseId ?? "", text, ...finish };
}

/**
 * A candidate's parts as the contract's pieces, read part by part whether they come in one answer
 * or chunk after chunk. Text is text; thought parts are reasoning, consecutive ones one block; a
 * thoughtSignature on any other part is a block of its own holding only the signature, so it can
 * go back with its turn. functionCall parts are whole tool calls; Gemini need not give them an
 * id, and a call without one is given one. Gemini's own tools (code execution) are named, not
 * carried.
 */
export class PartReader {
  readonly nonText = new Set<NonTextContent>();
  private toolCalls = 0;
  private reasoningBlocks = 0;
  /** The last part was a thought, and its block is still open for the next. */
  private inThought = false;

  constructor(private readonly provider: string) {}

  get madeToolCalls(): boolean {
    return this.toolCalls > 0;
  }

  *read(parts: GeminiPart[] | undefined): Generator<ContentDelta> {
    for (const part of parts ?? []) {
      const signature = part.thoughtSignature || undefined;
      if (part.thought) {
        if (!this.inThought) this.reasoningBlocks++;
        yield {
          type: "reasoning_delta",
          index: this.reasoningBlocks - 1,
          text: part.text ?? "",
          ...(signature ? { signature } : {}),
        };
        // A signed thought ends its block: the next signature is another block's.
        this.inThought = signature === undefined;
        continue;
      }
      this.inThought = false;
      if (part.text) yield { type: "delta", text: part.text };
      if (part.functionCall) yield this.toolCall(part.functionCall);
      if (part.executableCode !== undefined || part.codeExecutionResult !== undefined)
        this.nonText.add("tool_calls");
      if (signature) yield { type: "reasoning_delta", index: this.reasoningBlocks++, text: "", signature };
    }
  }

  private toolCall(call: NonNullable<GeminiPart["functionCall"]>): ContentDelta {
    if (!call.name) throw malformed(this.provider, `sent function call ${this.toolCalls} without its name`);
    return {
      type: "tool_call_delta",
      index: this.toolCalls++,
      id: call.id || callId(),
      name: call.name,
      arguments: JSON.stringify(call.args ?? {}),
    };
  }
}

/** An id for a call Gemini gave none, in OpenAI's shape: its result answers it by this id. */
function callId(): string {
  return `call_${randomBytes(12).toString("base64url")}`;
}

export function malformed(provider: string, problem: string): GatewayError {
  return new GatewayError("unavailable", `${provider} ${problem}`, { reason: "UPSTREAM_MALFORMED" });
}
