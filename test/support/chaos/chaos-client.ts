import { fileURLToPath } from "node:url";
import {
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status as Status,
  type StatusObject,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

/** How one RPC ended, seen by the caller; times are performance.now(). */
export interface CallOutcome {
  /** The gRPC status name: OK, UNAVAILABLE, ... */
  code: string;
  details: string;
  /** The `weaver-error-reason` trailer, when there is one. */
  reason?: string;
  startedAt: number;
  endedAt: number;
  /** When the caller cancelled, if it did before the end. */
  cancelledAt?: number;
  /** Stream messages received (a unary call counts its reply). */
  messages: number;
}

export interface CallPlan {
  method: "generate" | "generateStream";
  model: string;
  deadlineMs: number;
  cancelAfterMs?: number;
}

type Reply = Record<string, unknown>;
type UnaryFn = (
  req: Reply,
  md: Metadata,
  opts: object,
  cb: (e: ServiceError | null, r?: Reply) => void,
) => ClientUnaryCall;
type StreamFn = (req: Reply, md: Metadata, opts: object) => ClientReadableStream<Reply>;

/** GatewayService over @grpc/grpc-js with the caller's deadline and cancel, as a real client sets them. */
export class ChaosClient {
  private readonly client: Client;

  constructor(url: string) {
    const definition = loadSync("weaver/gateway/v1/gateway.proto", {
      includeDirs: [fileURLToPath(new URL("../../../proto/", import.meta.url))],
      longs: Number,
      enums: String,
    });
    const tree = loadPackageDefinition(definition) as unknown as {
      weaver: { gateway: { v1: { GatewayService: ServiceClientConstructor } } };
    };
    this.client = new tree.weaver.gateway.v1.GatewayService(new URL(url).host, credentials.createInsecure());
  }

  /** Runs one Generate or GenerateStream call to its end; never rejects. */
  call(plan: CallPlan): Promise<CallOutcome> {
    const request = { model: plan.model, messages: [{ role: "user", content: "chaos" }], maxTokens: 16 };
    const options = { deadline: Date.now() + plan.deadlineMs };
    const startedAt = performance.now();
    let messages = 0;
    let cancelledAt: number | undefined;
    return new Promise((resolve) => {
      const finish = (status: Pick<StatusObject, "code" | "details" | "metadata">) => {
        clearTimeout(canceller);
        const reason = status.metadata?.get("weaver-error-reason")[0];
        resolve({
          code: Status[status.code] ?? String(status.code),
          details: status.details,
          ...(typeof reason === "string" ? { reason } : {}),
          startedAt,
          endedAt: performance.now(),
          ...(cancelledAt !== undefined ? { cancelledAt } : {}),
          messages,
        });
      };
      let call: ClientUnaryCall | ClientReadableStream<Reply>;
      if (plan.method === "generate") {
        call = this.method<UnaryFn>("generate")(request, new Metadata(), options, (error) => {
          if (error) finish(error);
          else messages++;
        });
        call.on("status", (status: StatusObject) => status.code === Status.OK && finish(status));
      } else {
        const stream = this.method<StreamFn>("generateStream")(request, new Metadata(), options);
        stream.on("data", () => messages++);
        stream.on("error", () => {}); // the status event below carries the outcome
        stream.on("status", finish);
        call = stream;
      }
      const canceller =
        plan.cancelAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              cancelledAt = performance.now();
              call.cancel();
            }, plan.cancelAfterMs);
    });
  }

  /** A unary call with no deadline games: PoolStats, or a normal Generate. */
  unary(method: "poolStats" | "generate", request: Reply, deadlineMs = 10_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const options = { deadline: Date.now() + deadlineMs };
      this.method<UnaryFn>(method)(request, new Metadata(), options, (error, reply) =>
        error ? reject(error) : resolve(reply ?? {}),
      );
    });
  }

  close(): void {
    this.client.close();
  }

  private method<T>(name: string): T {
    // grpc-js adds one method per RPC at run time.
    const fn = (this.client as unknown as Record<string, unknown>)[name];
    if (typeof fn !== "function") throw new Error(`GatewayService has no method ${name}`);
    return fn.bind(this.client) as T;
  }
}
