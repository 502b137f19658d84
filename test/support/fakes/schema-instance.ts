// The fakes answer tool calls and structured output with the demo's generator: one implementation.
export { type SchemaNode, schemaInstance } from "../../../src/demo/json-schema-instance.js";
