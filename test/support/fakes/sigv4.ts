import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentials } from "../../../src/providers/bedrock/index.js";
import type { RecordedRequest } from "./scenario.js";

/** How far a request's x-amz-date may be from the fake's clock, as AWS allows. */
const MAX_SKEW_MS = 5 * 60_000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;:-]+), ?Signature=([0-9a-f]{64})$/;

/** Why AWS refused a request's signature: its error type, and its message. */
export interface SignatureRefusal {
  status: number;
  type: string;
  message: string;
}

/**
 * Checks a received request's SigV4 signature as AWS does: the credential scope names the known
 * key, today's date, the region and the service; the date is fresh; then the signature is computed
 * again (by the library, hashing with the pure-JS Sha256 the provider does not use) from the method,
 * path, query and signed headers as they arrived and the body, and must be the one sent.
 */
export async function verifySigV4(
  request: RecordedRequest,
  expected: { credentials: AwsCredentials; region: string; service: string },
  now = new Date(),
): Promise<SignatureRefusal | undefined> {
  const { headers } = request;
  const authorization = headers.authorization;
  if (!authorization) return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
  const match = AUTHORIZATION.exec(authorization);
  if (!match)
    return refuse(
      "IncompleteSignatureException",
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${authorization.split(" ")[0]}`,
    );
  const [, keyId, day, region, service, signedList = ""] = match;
  const { credentials } = expected;
  if (keyId !== credentials.accessKeyId)
    return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
  if (credentials.sessionToken && headers["x-amz-security-token"] !== credentials.sessionToken)
    return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
  const date = headers["x-amz-date"] ?? "";
  const at = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (Number.isNaN(at) || Math.abs(at - now.getTime()) > MAX_SKEW_MS)
    return refuse(
      "InvalidSignatureException",
      `Signature expired: ${date} is now earlier or later than allowed.`,
    );
  if (day !== date.slice(0, 8) || region !== expected.region || service !== expected.service)
    return refuse(
      "InvalidSignatureException",
      `Credential should be scoped to a valid region and service: ${day}/${region}/${service}.`,
    );
  const signedHeaders = signedList.split(";");
  // The AWS SDK over HTTP/2 signs `:authority` in place of `host`.
  if (!signedHeaders.includes("host") && !signedHeaders.includes(":authority"))
    return refuse("InvalidSignatureException", "'Host' must be a signed header.");
  const bodyHash = await hex(request.rawBody);
  const claimed = headers["x-amz-content-sha256"];
  // The library trusts this header as the body's hash; AWS hashes the body it received.
  if (claimed !== undefined && claimed !== bodyHash)
    return mismatch("the body's hash is not x-amz-content-sha256");
  const [path = "", search = ""] = request.path.split("?", 2);
  const signed: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value =
      name === ":authority"
        ? request.authority
        : name === "host"
          ? (headers.host ?? request.authority)
          : headers[name];
    if (value === undefined) return mismatch(`the signed header ${name} is missing`);
    signed[name] = value;
  }
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256, applyChecksum: false });
  const recomputed = await signer.sign(
    {
      method: request.method,
      protocol: "https:",
      hostname: request.authority.replace(/:\d+$/, ""),
      path,
      query: queryOf(search),
      headers: signed,
      body: request.rawBody,
    },
    { signingDate: new Date(at), signableHeaders: new Set(signedHeaders) },
  );
  if (recomputed.headers.authorization === authorization) return undefined;
  // AWS's message goes on with the canonical request it computed, signed headers and all.
  const canonical = [
    request.method,
    path,
    search,
    ...signedHeaders.map((n) => `${n}:${signed[n]}`),
    "",
    signedList,
    bodyHash,
  ];
  return mismatch(`The Canonical String for this request should have been\n'${canonical.join("\n")}'`);
}

function refuse(type: string, message: string): SignatureRefusal {
  return { status: type === "IncompleteSignatureException" ? 400 : 403, type, message };
}

function mismatch(detail: string): SignatureRefusal {
  return refuse(
    "InvalidSignatureException",
    `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n${detail}\n`,
  );
}

/** The raw query, decoded: the signer encodes each key and value again, as AWS does. */
function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of search.split("&").filter(Boolean)) {
    const [key = "", value = ""] = pair.split("=", 2).map((s) => decodeURIComponent(s));
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}

async function hex(body: string): Promise<string> {
  const hash = new Sha256();
  hash.update(Buffer.from(body, "utf8"));
  return Buffer.from(await hash.digest()).toString("hex");
}
