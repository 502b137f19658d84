import { describe, expect, test } from "vitest";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { inOpenAINames } from "../../src/openai-api/field-names.js";

const refusal = (message: string) =>
  new GatewayError("invalid_argument", message, { reason: "INVALID_FIELD" });

describe("a refused field, in the names of the OpenAI request", () => {
  test.each([
    [
      "messages[0].parts[1].image.url holds no image data",
      "messages[0].content[1].image_url.url holds no image data",
    ],
    [
      "messages[0].parts[1].image needs a url or data",
      "messages[0].content[1].image_url needs a url or data",
    ],
    ["messages[2].parts[0] must be text in this turn", "messages[2].content[0] must be text in this turn"],
    [
      "messages[1].tool_calls[0].arguments must be a JSON object",
      "messages[1].tool_calls[0].function.arguments must be a JSON object",
    ],
    ["messages[1].tool_calls[0].name is required", "messages[1].tool_calls[0].function.name is required"],
    ['tools[3].name "a b" names another tool too', 'tools[3].function.name "a b" names another tool too'],
    ["tools[0].parameters_json is not JSON: x", "tools[0].function.parameters is not JSON: x"],
    [
      'tool_choice.tool_name "f" is not one of the request\'s tools',
      'tool_choice.function.name "f" is not one of the request\'s tools',
    ],
    [
      "tool_choice.mode REQUIRED needs at least one tool in tools",
      "tool_choice REQUIRED needs at least one tool in tools",
    ],
    [
      "response_format.json_schema.schema_json must be a JSON object (a JSON Schema)",
      "response_format.json_schema.schema must be a JSON object (a JSON Schema)",
    ],
  ])("%s", (contract, openai) => {
    const renamed = inOpenAINames(refusal(contract));
    expect(renamed).toBeInstanceOf(GatewayError);
    expect(renamed).toMatchObject({ kind: "invalid_argument", reason: "INVALID_FIELD", message: openai });
  });

  test("fields both spell alike, and other errors, are left as they are", () => {
    for (const error of [
      refusal("messages[1].tool_call_id is required in a tool turn"),
      refusal("messages[0].content must not be empty"),
      refusal("max_tokens must be between 1 and 1000000, not 0"),
      new GatewayError("invalid_argument", "tools.name is odd", { reason: "UNSUPPORTED_FIELD" }),
      new Error("tools[0].name boom"),
    ])
      expect(inOpenAINames(error)).toBe(error);
  });
});
