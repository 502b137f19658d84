import type { ChatRequest, ResponseFormat, ToolChoice, ToolDefinition } from "../provider.js";
import { unsupported } from "../unsupported-field.js";
import { chatMessages } from "./messages.js";
import type { ChatDialect } from "./presets.js";

/**
 * The body of `POST /chat/completions` for a ChatRequest. Only what the caller set is sent: an
 * unset field is left out, never sent as null. A field Chat Completions has no place for is
 * refused, naming it, rather than dropped.
 */
export function chatCompletionBody(
  request: ChatRequest,
  stream: boolean,
  provider: string,
  dialect: ChatDialect = {},
): string {
  if (dialect.noEndUser && request.user !== undefined)
    throw unsupported(provider, "user", "the service has no field for the end user");
  if (request.reasoningBudgetTokens !== undefined) {
    throw unsupported(provider, "reasoning_budget_tokens", "OpenAI's API takes reasoning_effort instead");
  }
  return JSON.stringify({
    model: request.model,
    messages: chatMessages(request, provider),
    // Reasoning models (o-series, gpt-5) refuse max_tokens and count their thinking against
    // max_completion_tokens; servers that only speak the older name are not reasoning models.
    ...(request.reasoningEffort === undefined
      ? { max_tokens: request.maxTokens }
      : { max_completion_tokens: request.maxTokens }),
    temperature: request.temperature,
    top_p: request.topP,
    stop: request.stop.length > 0 ? request.stop : undefined,
    tools: request.tools.length > 0 ? request.tools.map(tool) : undefined,
    tool_choice: request.toolChoice && toolChoice(request.toolChoice),
    parallel_tool_calls: request.parallelToolCalls,
    response_format: request.responseFormat && responseFormat(request.responseFormat),
    reasoning_effort: request.reasoningEffort,
    [dialect.seedField ?? "seed"]: request.seed,
    user: request.user,
    ...(stream
      ? { stream: true, ...(dialect.usageUnasked ? {} : { stream_options: { include_usage: true } }) }
      : {}),
  });
}

function tool({ name, description, parameters, strict }: ToolDefinition) {
  return { type: "function", function: { name, description, parameters, strict } };
}

function toolChoice(choice: ToolChoice) {
  return choice.type === "tool" ? { type: "function", function: { name: choice.name } } : choice.type;
}

function responseFormat(format: ResponseFormat) {
  if (format.type !== "json_schema") return { type: format.type };
  const { name, description, schema, strict } = format;
  return { type: "json_schema", json_schema: { name, description, schema, strict } };
}
