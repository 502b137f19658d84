import { type ClientHttp2Session, connect, constants } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { GenerateRequestSchema } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { GENERATE_PATH } from "../../test/support/h2-attacker/index.js";

/**
 * The well-behaved caller, as its own process so the attacker's work does not delay its clock:
 * unary Generate calls for model "demo" over gRPC/h2c at a steady open-loop rate, until stdin
 * closes. Every 200 ms it writes a JSON line of the calls finished since: [startedAt, ms, error].
 * startedAt is wall-clock ms (performance.timeOrigin + now), comparable with the orchestrator's.
 *
 * usage: node --import tsx bench/flood/steady-caller.ts '{"url":"http://127.0.0.1:8080","rate":200}'
 */

export type CallRecord = [startedAt: number, ms: number, error: string | null];

const {
  url,
  rate,
  timeoutMs = 5_000,
} = JSON.parse(process.argv[2] ?? "{}") as {
  url: string;
  rate: number;
  timeoutMs?: number;
};
const request = (() => {
  const body = toBinary(
    GenerateRequestSchema,
    create(GenerateRequestSchema, {
      model: "demo",
      messages: [{ role: "user", content: "hello" }],
      maxTokens: 8,
    }),
  );
  const framed = Buffer.alloc(5 + body.length);
  framed.writeUInt32BE(body.length, 1);
  Buffer.from(body).copy(framed, 5);
  return framed;
})();

let session: ClientHttp2Session | undefined;
/** The session, opened again after the gateway closed or refused the last one, as a real client does. */
function currentSession(): ClientHttp2Session {
  if (session === undefined || session.closed || session.destroyed) {
    const opened = connect(url);
    opened.on("error", () => {});
    opened.once("goaway", () => {
      if (session === opened) session = undefined;
    });
    opened.once("close", () => {
      if (session === opened) session = undefined;
    });
    session = opened;
  }
  return session;
}

function call(): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = currentSession().request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: GENERATE_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
      te: "trailers",
    });
    const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), timeoutMs);
    let status: string | undefined;
    let httpStatus: number | undefined;
    let bytes = 0;
    const takeStatus = (headers: Record<string, unknown>) => {
      if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
    };
    stream.on("response", (headers) => {
      httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
      takeStatus(headers);
    });
    stream.on("trailers", takeStatus);
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      clearTimeout(timer);
      if (status === "0" && bytes > 5) resolve();
      else if (httpStatus !== undefined && httpStatus !== 200) reject(new Error(`HTTP ${httpStatus}`));
      else if (status !== undefined) reject(new Error(`grpc-status ${status}`));
      else reject(new Error(`no grpc-status (reset ${stream.rstCode})`));
    });
    stream.end(request);
  });
}

let finished: CallRecord[] = [];
const wallNow = () => performance.timeOrigin + performance.now();
const one = async () => {
  const startedAt = wallNow();
  const began = performance.now();
  try {
    await call();
    finished.push([startedAt, performance.now() - began, null]);
  } catch (error) {
    finished.push([
      startedAt,
      performance.now() - began,
      error instanceof Error ? error.message : String(error),
    ]);
  }
};

const flush = setInterval(() => {
  if (finished.length === 0) return;
  process.stdout.write(`${JSON.stringify(finished)}\n`);
  finished = [];
}, 200);

// Open loop: each call starts on schedule however long earlier ones take, so a stall shows as latency.
const begin = performance.now();
let started = 0;
const tick = setInterval(() => {
  const due = Math.floor(((performance.now() - begin) * rate) / 1000);
  while (started < due) {
    started++;
    void one();
  }
}, 1);

process.stdin.resume();
process.stdin.once("end", () => {
  clearInterval(tick);
  clearInterval(flush);
  session?.destroy();
  process.exit(0);
});
