import { ToolChoiceMode } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ChatRequest, ResponseFormat, ToolChoice, ToolDefinition } from "../providers/provider.js";
import { invalid } from "./invalid-field.js";
import { jsonObjectField } from "./json-object-field.js";
import type { RequestSize } from "./request-size.js";
import type { GenerationInput, InputTool } from "./validate-request.js";

/** What OpenAI and Anthropic both accept as a tool's or schema's name. */
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_TOOLS = 128;

/** Tools, the tool choice and the response format, checked against each other. */
export function validateTools(
  request: GenerationInput,
  size: RequestSize,
): Pick<ChatRequest, "tools" | "toolChoice" | "parallelToolCalls" | "responseFormat"> {
  if ((request.tools?.length ?? 0) > MAX_TOOLS)
    invalid("tools", `holds at most ${MAX_TOOLS} tools (OpenAI's limit)`);
  const tools = (request.tools ?? []).map((tool, i) => toolDefinition(tool, `tools[${i}]`, size));
  const names = new Set<string>();
  tools.forEach(({ name }, i) => {
    if (names.has(name)) invalid(`tools[${i}].name`, `"${name}" names another tool too`);
    names.add(name);
  });
  const toolChoice = choiceOf(request.toolChoice?.choice, names);
  const responseFormat = formatOf(request.responseFormat?.format, size);
  // Agent apps send a tool choice and parallel_tool_calls on every turn, some turns without tools.
  // There they say nothing (auto, none; required or a named tool is refused above), and OpenAI
  // refuses them: no provider is sent them.
  const offered = tools.length > 0;
  return {
    tools,
    ...(offered && toolChoice ? { toolChoice } : {}),
    ...(offered && request.parallelToolCalls !== undefined
      ? { parallelToolCalls: request.parallelToolCalls }
      : {}),
    ...(responseFormat ? { responseFormat } : {}),
  };
}

function toolDefinition(tool: InputTool, field: string, size: RequestSize): ToolDefinition {
  if (!NAME.test(tool.name)) invalid(`${field}.name`, nameProblem(tool.name));
  size.addElement();
  size.add(tool.name, tool.description, tool.parametersJson);
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    // No schema: a tool without arguments, said the way every provider reads it.
    parameters: tool.parametersJson
      ? jsonObjectField(tool.parametersJson, `${field}.parameters_json`)
      : { type: "object", properties: {} },
    ...(tool.strict ? { strict: true } : {}),
  };
}

function choiceOf(
  choice: NonNullable<GenerationInput["toolChoice"]>["choice"] | undefined,
  tools: Set<string>,
): ToolChoice | undefined {
  switch (choice?.case) {
    case "toolName":
      if (!tools.has(choice.value))
        invalid("tool_choice.tool_name", `"${choice.value}" is not one of the request's tools`);
      return { type: "tool", name: choice.value };
    case "mode":
      if (choice.value === ToolChoiceMode.REQUIRED && tools.size === 0)
        invalid("tool_choice.mode", "REQUIRED needs at least one tool in tools");
      return MODES[choice.value];
    default:
      return undefined;
  }
}

const MODES: Record<ToolChoiceMode, ToolChoice | undefined> = {
  [ToolChoiceMode.UNSPECIFIED]: undefined,
  [ToolChoiceMode.AUTO]: { type: "auto" },
  [ToolChoiceMode.NONE]: { type: "none" },
  [ToolChoiceMode.REQUIRED]: { type: "required" },
};

function formatOf(
  format: NonNullable<GenerationInput["responseFormat"]>["format"] | undefined,
  size: RequestSize,
): ResponseFormat | undefined {
  switch (format?.case) {
    case "text":
      return { type: "text" };
    case "jsonObject":
      return { type: "json_object" };
    case "jsonSchema": {
      const { name, schemaJson, description, strict } = format.value;
      if (!NAME.test(name)) invalid("response_format.json_schema.name", nameProblem(name));
      size.add(schemaJson, description);
      return {
        type: "json_schema",
        name,
        schema: jsonObjectField(schemaJson, "response_format.json_schema.schema_json"),
        ...(description ? { description } : {}),
        ...(strict ? { strict: true } : {}),
      };
    }
    default:
      return undefined;
  }
}

const nameProblem = (name: string) =>
  `must be 1 to 64 letters, digits, "_" or "-", not "${name.length > 80 ? `${name.slice(0, 80)}...` : name}"`;
