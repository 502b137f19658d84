import { describe, expect, it } from "vitest";
import { httpError } from "../../src/providers/bedrock/errors.js";
import { bedrockDefaultBaseUrl } from "../../src/providers/bedrock/index.js";
import { createSigner } from "../../src/providers/bedrock/signing.js";
import type { RecordedRequest } from "../support/fakes/scenario.js";
import { verifySigV4 } from "../support/fakes/sigv4.js";
import { CREDENTIALS, REGION } from "./bedrock-wire-harness.js";

describe("Bedrock HTTP errors", () => {
  it("reads the type from x-amzn-errortype, its namespace cut off", () => {
    const error = httpError(
      400,
      '{"message":"Malformed input request"}',
      { "x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/" },
      "bedrock",
    );
    expect(error).toMatchObject({ kind: "invalid_argument", retryable: false, status: 400 });
    expect(error.message).toBe("bedrock ValidationException: Malformed input request (HTTP 400)");
  });

  it("falls back to the body's __type, and to the status for a type no one documents", () => {
    expect(
      httpError(403, '{"__type":"com.amazon#ExpiredTokenException","Message":"expired"}', {}, "b"),
    ).toMatchObject({
      kind: "unauthenticated",
      message: "b ExpiredTokenException: expired (HTTP 403)",
    });
    expect(httpError(502, "<html>Bad gateway</html>", {}, "b")).toMatchObject({
      kind: "unavailable",
      retryable: true,
    });
  });
});

const url = new URL(
  "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
  bedrockDefaultBaseUrl(REGION),
);
const body = '{"messages":[]}';
const headers = { "content-type": "application/json" };

/** The request as a server receives it: the signed headers plus undici's own host. */
const received = (signed: Record<string, string>, authority = url.host): RecordedRequest => ({
  method: "POST",
  path: `${url.pathname}${url.search}`,
  headers: { ...headers, ...signed },
  authority,
  body: undefined,
  rawBody: body,
  httpVersion: "2.0",
  receivedAt: 0,
});

describe("SigV4 signing", () => {
  const sign = createSigner({ service: "bedrock", region: REGION, credentials: CREDENTIALS });
  const expected = { credentials: CREDENTIALS, region: REGION, service: "bedrock" };

  it("adds the signature headers, verified by an independent recomputation", async () => {
    const signed = await sign({ method: "POST", url, headers, body });
    expect(Object.keys(signed).sort()).toEqual([
      "authorization",
      "x-amz-content-sha256",
      "x-amz-date",
      "x-amz-security-token",
    ]);
    expect(signed.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-3\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    // The public endpoint's default port is not in undici's host, nor in the signed one.
    expect(url.host).toBe("bedrock-runtime.eu-west-3.amazonaws.com");
    expect(await verifySigV4(received(signed), expected)).toBeUndefined();
  });

  it("fails verification for another host, body or path", async () => {
    const signed = await sign({ method: "POST", url, headers, body });
    expect(await verifySigV4(received(signed, `${url.host}:443`), expected)).toMatchObject({
      type: "InvalidSignatureException",
    });
    expect(await verifySigV4({ ...received(signed), rawBody: "{}" }, expected)).toMatchObject({
      type: "InvalidSignatureException",
    });
    expect(
      await verifySigV4({ ...received(signed), path: url.pathname.replace("%3A", ":") }, expected),
    ).toMatchObject({
      type: "InvalidSignatureException",
    });
  });

  it("sends no security token for long-term keys", async () => {
    const { sessionToken: _, ...longTerm } = CREDENTIALS;
    const signed = await createSigner({ service: "bedrock", region: REGION, credentials: longTerm })({
      method: "POST",
      url,
      headers,
      body,
    });
    expect(signed["x-amz-security-token"]).toBeUndefined();
    expect(await verifySigV4(received(signed), { ...expected, credentials: longTerm })).toBeUndefined();
  });
});
