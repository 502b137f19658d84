import { randomBytes } from "node:crypto";

export interface CertificatePair {
  cert: string;
  key: string;
}

/**
 * A throwaway certificate for 127.0.0.1 and localhost, made at start; its PEM is also the CA to
 * trust. Its name is its own: OpenSSL finds a certificate's issuer by name, so two demo
 * certificates both named CN=localhost, one trusted (NODE_EXTRA_CA_CERTS) and one served, fail
 * with DEPTH_ZERO_SELF_SIGNED_CERT. The host names it serves are in subjectAltName.
 */
export async function selfSignedCertificate(): Promise<CertificatePair> {
  // Loaded on first use: selfsigned brings @peculiar/x509 and asn1js (about 200 modules, 10 MB of
  // idle RSS), which a gateway without a demo provider never needs.
  const { generate } = await import("selfsigned");
  const now = new Date();
  const commonName = `weaver-gateway demo ${randomBytes(6).toString("hex")}`;
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 7 * 24 * 3600_000),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
