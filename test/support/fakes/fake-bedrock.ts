import type { AwsCredentials } from "../../../src/providers/bedrock/index.js";
import {
  type BedrockAnswer,
  type ConverseRequest,
  converseJson,
  converseStreamFrames,
  planBedrock,
} from "./bedrock-format.js";
import { FakeUpstream, type FakeUpstreamOptions } from "./fake-upstream.js";
import { type ErrorScenario, errorHeaders, jsonReply, type RecordedRequest, type Reply } from "./scenario.js";
import { verifySigV4 } from "./sigv4.js";
import { randomId } from "./text.js";

export interface FakeBedrockOptions extends FakeUpstreamOptions {
  /** The credentials whose signatures are accepted. */
  credentials: AwsCredentials;
  /** The region signatures must be scoped to; default us-east-1. */
  region?: string;
}

/** The error type Bedrock Runtime sends with each status, and a message in its words. */
const ERRORS: Record<number, [type: string, message: string]> = {
  400: ["ValidationException", "The provided model identifier is invalid."],
  403: ["AccessDeniedException", "You don't have access to the model with the specified model ID."],
  404: ["ResourceNotFoundException", "Model not found."],
  408: ["ModelTimeoutException", "Model has timed out in processing the request."],
  424: ["ModelErrorException", "The model encountered an error processing the request."],
  429: ["ThrottlingException", "Too many requests, please wait before trying again."],
  500: ["InternalServerException", "The server encountered an internal error."],
  503: ["ServiceUnavailableException", "Bedrock is unable to process your request."],
};

const PATH = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

/**
 * A fake Bedrock Runtime: `POST /model/{modelId}/converse` answers JSON, `/converse-stream` the
 * binary event stream; every request's SigV4 signature is verified (a bad one gets AWS's 403
 * InvalidSignatureException); errors come as AWS sends them, typed by `x-amzn-errortype`.
 */
export class FakeBedrock extends FakeUpstream<BedrockAnswer> {
  /** Requests refused for their signature, with why. */
  readonly refusedSignatures: string[] = [];
  /** Signatures verified: the count of requests that were signed right. */
  verifiedSignatures = 0;
  private readonly refusals = new WeakMap<RecordedRequest, Reply>();

  constructor(private readonly config: FakeBedrockOptions) {
    super(config);
  }

  /** A request's model id, decoded from its path. */
  modelOf(request: RecordedRequest): string | undefined {
    const match = PATH.exec(request.path.split("?")[0] ?? "");
    return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
  }

  /** The verdict `verify` reached on the request's signature, path and body. */
  protected check(request: RecordedRequest): Reply | undefined {
    return this.refusals.get(request);
  }

  /** The signature first, as AWS checks it before anything else; then the path and the body. */
  protected override async verify(request: RecordedRequest): Promise<void> {
    const refusal = await verifySigV4(request, {
      credentials: this.config.credentials,
      region: this.config.region ?? "us-east-1",
      service: "bedrock",
    });
    if (refusal) {
      this.refusedSignatures.push(refusal.message);
      this.refusals.set(request, this.error({ kind: "error", ...refusal, status: refusal.status }));
      return;
    }
    this.verifiedSignatures++;
    const path = request.path.split("?")[0] ?? "";
    if (request.method !== "POST" || !PATH.test(path))
      this.refusals.set(
        request,
        this.error({ kind: "error", status: 404, type: "UnknownOperationException", message: "" }),
      );
    else if (!Array.isArray((request.body as ConverseRequest | undefined)?.messages))
      this.refusals.set(
        request,
        this.error({ kind: "error", status: 400, message: "A conversation must start with a user message." }),
      );
  }

  protected answer(request: RecordedRequest, scenario: BedrockAnswer | ErrorScenario | undefined): Reply {
    if (scenario?.kind === "error") return this.error(scenario);
    const answer = scenario ?? { kind: "answer" };
    const plan = planBedrock(request.body as ConverseRequest, answer);
    const requestId = crypto.randomUUID();
    if (PATH.exec(request.path.split("?")[0] ?? "")?.[2] === "converse-stream") {
      return {
        type: "send",
        status: 200,
        headers: { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": requestId },
        pieces: converseStreamFrames(plan, answer),
        pacing: answer,
      };
    }
    return { ...jsonReply(200, converseJson(plan), { "x-amzn-requestid": requestId }), pacing: answer };
  }

  private error(scenario: ErrorScenario): Reply {
    const [defaultType, defaultMessage] = ERRORS[scenario.status] ?? [
      "InternalServerException",
      "Internal error",
    ];
    const type = scenario.type ?? defaultType;
    const body = scenario.body ?? { message: scenario.message ?? defaultMessage };
    return jsonReply(scenario.status, body, {
      "x-amzn-requestid": randomId("", 32),
      "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      ...errorHeaders(scenario),
    });
  }
}

/** Starts a fake Bedrock Runtime on 127.0.0.1 with a fresh certificate (see `fake.ca`). */
export async function startFakeBedrock(options: FakeBedrockOptions): Promise<FakeBedrock> {
  return new FakeBedrock(options).listen();
}
