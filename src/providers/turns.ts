import type { ChatMessage, ContentPart } from "./provider.js";

type ToolMessage = Extract<ChatMessage, { role: "tool" }>;
type AssistantMessage = Extract<ChatMessage, { role: "assistant" }>;

/** How one API writes each kind of message; `at` is the message's index in the request. */
export interface TurnWriter<Block, Content> {
  toolResult(message: ToolMessage, at: number): Block;
  /** A user message's parts, as blocks of a turn that tool results began. */
  userBlocks(parts: ContentPart[], at: number): Block[];
  /** A user message that is a turn of its own. */
  user(parts: ContentPart[], at: number): Content;
  assistant(message: AssistantMessage, at: number): Content;
}

export interface Turn<Block, Content> {
  role: "user" | "assistant";
  content: Content | Block[];
}

/**
 * The conversation as user and assistant turns, for APIs where tool results answer in a user turn
 * before anything else in it (Anthropic's Messages, Bedrock's Converse): consecutive tool messages
 * and a user message right after them become ONE turn.
 */
export function toTurns<Block, Content>(
  messages: ChatMessage[],
  write: TurnWriter<Block, Content>,
): Turn<Block, Content>[] {
  const turns: Turn<Block, Content>[] = [];
  let toolTurn: Block[] | undefined;
  messages.forEach((message, at) => {
    if (message.role === "tool") {
      const result = write.toolResult(message, at);
      if (toolTurn) toolTurn.push(result);
      else {
        toolTurn = [result];
        turns.push({ role: "user", content: toolTurn });
      }
      return;
    }
    if (message.role === "user" && toolTurn) toolTurn.push(...write.userBlocks(message.content, at));
    else if (message.role === "user") turns.push({ role: "user", content: write.user(message.content, at) });
    else turns.push({ role: "assistant", content: write.assistant(message, at) });
    toolTurn = undefined;
  });
  return turns;
}
