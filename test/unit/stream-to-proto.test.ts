import { create, toJson } from "@bufbuild/protobuf";
import { expect, test } from "vitest";
import { GenerateStreamResponseSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { ContentDelta } from "../../src/providers/provider.js";
import { deltaToProto } from "../../src/service/to-proto.js";

// Each piece of a stream becomes one GenerateStreamResponse event, as the contract names it.
test.each<[ContentDelta, unknown]>([
  [{ type: "delta", text: "Hel" }, { delta: { text: "Hel" } }],
  [{ type: "refusal_delta", text: "I can't" }, { delta: { refusal: "I can't" } }],
  [
    { type: "tool_call_delta", index: 1, id: "call_2", name: "get_time", arguments: "" },
    { toolCall: { index: 1, id: "call_2", name: "get_time" } },
  ],
  [{ type: "tool_call_delta", index: 1, arguments: '{"ci' }, { toolCall: { index: 1, arguments: '{"ci' } }],
  [{ type: "reasoning_delta", index: 0, text: "Two cities" }, { reasoning: { text: "Two cities" } }],
  [{ type: "reasoning_delta", index: 0, signature: "sig" }, { reasoning: { signature: "sig" } }],
  [
    { type: "reasoning_delta", index: 1, redactedData: "EmwKAhgB" },
    { reasoning: { index: 1, redactedData: "EmwKAhgB" } },
  ],
])("%o", (delta, json) => {
  expect(
    toJson(GenerateStreamResponseSchema, create(GenerateStreamResponseSchema, deltaToProto(delta))),
  ).toEqual(json);
});
