import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GatewayService } from "../../../gen/weaver/gateway/v1/gateway_pb.js";
import { type GatewayProcess, spawnGateway } from "../gateway-process.js";
import { createGrpcJsGatewayClient } from "../grpc-js-client.js";

/** The default demo config: model "demo" from the embedded demo upstream, no keys, no network. */
const DEMO_CONFIG = {
  server: { host: "127.0.0.1", port: 0, drain_timeout: "2s" },
  providers: { demo: { type: "demo" } },
  models: { demo: { deployments: [{ provider: "demo", model: "demo" }] } },
};
const NORMAL_DEADLINE_MS = 10_000;
/** What an uncaught error, a failed assertion or a fatal signal leaves on stderr. */
const CRASH_SIGNS =
  /uncaught|unhandled|fatal|\n\s+at |segmentation|abort|out of memory|RangeError|TypeError/i;
const GENERATE = {
  model: "demo",
  messages: [{ role: "user", content: "hello after the fuzz" }],
  maxTokens: 3,
};

/** What a serving check found: problems (crash, failing normal calls, crash output) and other stderr. */
export interface ServingReport {
  problems: string[];
  /** stderr that is not a crash (a Node warning, say) and error-level log lines: reported, not failed. */
  notes: string[];
  crashed: boolean;
}

/** The gateway as a separate process, restarted after a crash so the run goes on. */
export class FuzzRig {
  private constructor(private process: GatewayProcess) {}
  private seen = { stderr: 0, logs: 0 };
  restarts = 0;

  static async start(): Promise<FuzzRig> {
    return new FuzzRig(await spawnGateway(DEMO_CONFIG));
  }

  get port(): number {
    return this.process.port;
  }

  alive(): boolean {
    return this.process.child.exitCode === null && this.process.child.signalCode === null;
  }

  /** Alive, a normal Generate over grpc-js and over Connect both succeed, and no new crash output. */
  async check(): Promise<ServingReport> {
    const problems: string[] = [];
    if (!this.alive()) {
      const exit = await this.process.exited;
      problems.push(
        `the gateway exited (code ${exit.code}, signal ${exit.signal}); stderr: ${this.newStderr().slice(0, 1500)}`,
      );
      await this.restart();
      return { problems, notes: [], crashed: true };
    }
    const [grpcJs, connect] = await Promise.all([this.grpcJsGenerate(), this.connectGenerate()]);
    if (grpcJs) problems.push(`a normal Generate over grpc-js failed: ${grpcJs}`);
    if (connect) problems.push(`a normal Generate over Connect failed: ${connect}`);
    const stderr = this.newStderr();
    const notes: string[] = [];
    if (CRASH_SIGNS.test(stderr)) problems.push(`crash-like stderr: ${stderr.slice(0, 1500)}`);
    else if (stderr.trim() !== "") notes.push(stderr.trim().slice(0, 600));
    // Error-level log lines (an INTERNAL answer, an unexpected error) are noted for the report, not failed.
    const errors = this.newLogs().filter((line) => line.level === "error" || line.level === "fatal");
    for (const line of errors.slice(0, 3)) notes.push(`error log: ${JSON.stringify(line).slice(0, 500)}`);
    return { problems, notes, crashed: false };
  }

  async close(): Promise<void> {
    await this.process.dispose();
  }

  private async restart(): Promise<void> {
    await this.process.dispose();
    this.process = await spawnGateway(DEMO_CONFIG);
    this.seen = { stderr: 0, logs: 0 };
    this.restarts++;
  }

  private newStderr(): string {
    const text = this.process.stderr().slice(this.seen.stderr);
    this.seen.stderr += text.length;
    return text;
  }

  private newLogs() {
    const lines = this.process.logs.slice(this.seen.logs);
    this.seen.logs += lines.length;
    return lines;
  }

  /** undefined when it succeeded, else why not. */
  private async grpcJsGenerate(): Promise<string | undefined> {
    const client = createGrpcJsGatewayClient(this.process.url);
    try {
      const reply = await withGuard(client.unary("generate", GENERATE));
      return typeof reply.text === "string" && reply.text !== ""
        ? undefined
        : `no text: ${JSON.stringify(reply)}`;
    } catch (error) {
      return (error as Error).message;
    } finally {
      client.close();
    }
  }

  private async connectGenerate(): Promise<string | undefined> {
    const transport = createConnectTransport({ baseUrl: this.process.url, httpVersion: "1.1" });
    try {
      const reply = await createClient(GatewayService, transport).generate(GENERATE, {
        timeoutMs: NORMAL_DEADLINE_MS,
      });
      return reply.text !== "" ? undefined : "no text";
    } catch (error) {
      return (error as Error).message;
    }
  }
}

function withGuard<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no answer within ${NORMAL_DEADLINE_MS} ms`)),
        NORMAL_DEADLINE_MS,
      ).unref(),
    ),
  ]);
}
