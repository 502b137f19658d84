import { type AwsCredentials, createBedrockProvider } from "../../src/providers/bedrock/index.js";
import type { ChatRequest, Provider } from "../../src/providers/provider.js";
import { chatRequest, userTurn } from "../support/chat-request.js";
import { type FakeBedrock, startFakeBedrock } from "../support/fakes/fake-bedrock.js";
import type { FakeUpstreamOptions } from "../support/fakes/fake-upstream.js";
import { providerOverFake } from "../support/provider-over-fake.js";

/** AWS's documented example keys, with a session token: temporary credentials, as most deployments have. */
export const CREDENTIALS: AwsCredentials = {
  accessKeyId: "ASIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENvalue0123456789abcdef",
};
export const REGION = "eu-west-3";
export const PROVIDER = "bedrock-wire";
/** An inference profile id: the `:` must go percent-encoded in the path, and be signed so. */
export const MODEL = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0";

export const user = userTurn;

export const chat = (fields: Partial<ChatRequest> = {}): ChatRequest => chatRequest(MODEL, fields);

/** The Bedrock provider over a fake Bedrock Runtime (TLS HTTP/2 unless `upstream` says otherwise). */
export function bedrockOverFake(
  upstream: FakeUpstreamOptions = {},
  credentials: AwsCredentials = CREDENTIALS,
): { fake: () => FakeBedrock; provider: () => Provider } {
  return providerOverFake(
    () => startFakeBedrock({ credentials: CREDENTIALS, region: REGION, ...upstream }),
    (fake, pools) =>
      createBedrockProvider({ name: PROVIDER, baseUrl: fake.origin, region: REGION, credentials }, pools),
  );
}
