import fc from "fast-check";
import type { FuzzCase } from "./fuzz-case.js";
import { openaiCase, plainHttpCase } from "./http-cases.js";
import { rawCase } from "./raw-cases.js";
import { connectGetCase, connectPostCase, grpcCase } from "./rpc-cases.js";
import { validCallCase } from "./valid-call-cases.js";

/** Every protocol on the port, weighted toward the ones with the most to parse. */
const anyProtocol: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 4, arbitrary: grpcCase("grpc") },
  { weight: 3, arbitrary: grpcCase("grpc-web") },
  { weight: 4, arbitrary: connectPostCase },
  { weight: 2, arbitrary: connectGetCase },
  { weight: 3, arbitrary: openaiCase },
  { weight: 1, arbitrary: plainHttpCase },
  { weight: 2, arbitrary: rawCase },
  { weight: 2, arbitrary: validCallCase },
);

/** One HTTP/1.1 case in twenty half-closes its side after the request, as `nc -N` or a shell pipe does. */
export const fuzzCaseArbitrary: fc.Arbitrary<FuzzCase> = fc
  .tuple(anyProtocol, fc.nat({ max: 19 }))
  .map(([c, n]) =>
    // 19, not 0: fast-check shrinks toward 0, so a shrink never adds a half-close a failure did not have.
    c.kind === "http" && c.transport === "h1" && n === 19
      ? { ...c, halfClose: true, mutation: `${c.mutation}; client half-closes after the request` }
      : c,
  );
