import { connect, constants } from "node:http2";

/**
 * The knocking caller of `npm run overload`, as its own process: unary gRPC calls over one h2c
 * session, `parallel` at a time, each timed from send to its status. Apart from the process that
 * holds the admitted streams, so neither their messages nor their garbage collections land in a
 * knock's time; and lean (frames on node:http2), so the client's own cost stays small beside the
 * refusal it measures. Writes one JSON line: the latencies, the gRPC statuses and how many
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
const payload = Buffer.from(job.body, "hex");
const framed = Buffer.alloc(5 + payload.length);
framed.writeUInt32BE(payload.length, 1);
payload.copy(framed, 5);

const session = connect(job.url);
session.on("error", () => {});

function knock(): Promise<{ status: string; retryAfter: boolean }> {
  return new Promise((resolve) => {
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: job.path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
      te: "trailers",
    });
    let status = "none";
    let retryAfter = false;
    // A trailers-only answer (every refusal) carries its status in the response headers.
    const take = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
      if (headers["retry-after"] === "1") retryAfter = true;
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("close", () => resolve({ status, retryAfter }));
    stream.end(framed);
  });
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
session.close();
