import { GenerateResponseSchema, ListModelsResponseSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GrpcH2Client, GrpcStatusError } from "../grpc-h2-client.js";

/**
 * The knocking caller of `npm run overload`, as its own process: unary gRPC calls over one h2c
 * session, `parallel` at a time, each timed from send to its status. Apart from the process that
 * holds the admitted streams, so neither their messages nor their garbage collections land in a
 * knock's time; and lean (GrpcH2Client: frames on node:http2), so the client's own cost stays
 * small beside the refusal it measures. Writes one JSON line: the latencies, the gRPC statuses and how many
 * answers carried `retry-after: 1`.
 *
 * usage: node --import tsx bench/overload/knocker.ts '{"url":"http://127.0.0.1:8080","path":"/…/Generate","body":"<hex>","count":1000,"parallel":1}'
 */

export interface KnockJob {
  url: string;
  path: string;
  /** The protobuf request, hex. */
  body: string;
  count: number;
  parallel: number;
}

export interface KnockResult {
  latencies: number[];
  statuses: Record<string, number>;
  retryAfter: number;
  seconds: number;
}

const job = JSON.parse(process.argv[2] ?? "{}") as KnockJob;
const request = Buffer.from(job.body, "hex");
const output = job.path.endsWith("/ListModels") ? ListModelsResponseSchema : GenerateResponseSchema;
const client = new GrpcH2Client(job.url);

/** One call's status ("none" when it ended without one), and whether it said `retry-after: 1`. */
function knock(): Promise<{ status: string; retryAfter: boolean }> {
  return client
    .call(job.path, request, output, () => {})
    .then(
      () => ({ status: "0", retryAfter: false }),
      (error: unknown) =>
        error instanceof GrpcStatusError
          ? { status: String(error.status), retryAfter: error.metadata["retry-after"] === "1" }
          : { status: "none", retryAfter: false },
    );
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let retryAfter = 0;
let next = 0;
const startedAt = performance.now();
await Promise.all(
  Array.from({ length: job.parallel }, async () => {
    while (next++ < job.count) {
      const sentAt = performance.now();
      const answer = await knock();
      latencies.push(performance.now() - sentAt);
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.retryAfter) retryAfter++;
    }
  }),
);
const result: KnockResult = {
  latencies,
  statuses,
  retryAfter,
  seconds: (performance.now() - startedAt) / 1000,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
client.close();
