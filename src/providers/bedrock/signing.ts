import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { SignableRequest } from "../provider.js";
import { registerSecret } from "../redact-secrets.js";

/** Long-term keys (AKIA...), or temporary ones (ASIA...) with their session token. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** The headers a signature adds; `host` is signed too, and undici sends the same one itself. */
const SIGNATURE_HEADERS = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

/**
 * Signs requests with AWS Signature Version 4 for one service, region and set of credentials: one
 * signer per provider, whose signing key (derived from the secret, the day, region and service) the
 * library keeps for the day. The secret and the session token are registered as secrets, so an
 * error message quoting them (AWS's signature errors quote the canonical request) never passes on.
 */
export function createSigner(
  options: { service: string; region: string; credentials: AwsCredentials },
  now: () => Date = () => new Date(),
): (request: SignableRequest) => Promise<Record<string, string>> {
  const { credentials } = options;
  registerSecret(credentials.secretAccessKey);
  if (credentials.sessionToken) registerSecret(credentials.sessionToken);
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: { ...credentials },
    sha256: NodeSha256,
  });
  return async ({ method, url, headers, body }) => {
    const signed = await signer.sign(
      {
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: queryOf(url),
        // As undici writes it (`host` in HTTP/1.1, `:authority` in HTTP/2): hostname, and a port
        // unless it is the scheme's default, which is what URL's `host` holds.
        headers: { ...headers, host: url.host },
        body,
      },
      { signingDate: now() },
    );
    const added: Record<string, string> = {};
    for (const name of SIGNATURE_HEADERS) {
      const value = signed.headers[name];
      if (value !== undefined) added[name] = value;
    }
    return added;
  };
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return query;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/**
 * SHA-256 and HMAC-SHA256 from node:crypto, in the shape the signer asks for. The pure-JS
 * @aws-crypto/sha256-js hashes a body about 2.5 times slower (5 MiB: 50 ms against 19 ms), on
 * the event loop, and a request with images is megabytes.
 */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash("sha256");
    return createHmac("sha256", bytesOf(this.secret));
  }
}

function bytesOf(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
