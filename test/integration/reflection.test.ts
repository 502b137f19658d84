import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, createFileRegistry, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  cpp,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_cpp_features,
  file_google_protobuf_java_features,
  java,
  timestampFromDate,
} from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  FinishReason,
  file_weaver_gateway_v1_gateway,
  GatewayService,
} from "../../gen/weaver/gateway/v1/gateway_pb.js";
import { createHealth, ServingStatus } from "../../src/server/health/health-service.js";
import { Listener, type RequestHandler } from "../../src/server/listener.js";
import { createDescriptorIndex } from "../../src/server/reflection/descriptor-index.js";
import {
  REFLECTION_SERVICE_NAMES,
  registerReflection,
} from "../../src/server/reflection/reflection-service.js";

import { type StubRpcServer, startStubRpcServer } from "../support/stub-rpc-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROTO_DIR = fileURLToPath(new URL("../../proto/", import.meta.url));
const execFileAsync = promisify(execFile);

const GATEWAY = "weaver.gateway.v1.GatewayService";
const HEALTH = "grpc.health.v1.Health";
const EXPECTED_SERVICES = [GATEWAY, HEALTH, ...REFLECTION_SERVICE_NAMES];

/** A stub GatewayService: enough for a call to show that reflection described its types right. */
const STUB_GATEWAY: ServiceImpl<typeof GatewayService> = {
  generate: (request) => ({
    id: "stub-1",
    text: `echo: ${request.messages.map((message) => message.content).join(" ")}`,
    finishReason: FinishReason.STOP,
    model: request.model,
    usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
  }),
  async *generateStream(request) {
    yield { event: { case: "start", value: { id: "stub-2", model: request.model } } };
    yield { event: { case: "delta", value: { text: "hi" } } };
    yield { event: { case: "finish", value: { finishReason: FinishReason.STOP } } };
  },
  poolStats: () => ({ startedAt: timestampFromDate(new Date("2024-01-02T03:04:05Z")) }),
  listModels: () => ({ models: [{ name: "stub", aliases: ["stub-alias"] }] }),
  getUsage: () => ({ rows: [] }),
};

async function startServer(): Promise<StubRpcServer> {
  const server = await startStubRpcServer(STUB_GATEWAY);
  server.health.registry.setStatus("", ServingStatus.SERVING);
  return server;
}

/** Runs `buf curl` and returns its stdout. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("node_modules/.bin/buf", ["curl", ...args], { cwd: ROOT });
  return stdout;
}

/** Each response message of `buf curl`, parsed: pretty-printed objects one after another. */
function messages(stdout: string): unknown[] {
  return stdout
    .trim()
    .split(/\n(?=\{)/)
    .map((message) => JSON.parse(message));
}

const lines = (stdout: string) => stdout.trim().split("\n").sort();

let server: StubRpcServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

describe("buf curl with server reflection", () => {
  test.each([
    ["default (v1 first)", []],
    ["v1", ["--reflect-protocol", "grpc-v1"]],
    ["v1alpha", ["--reflect-protocol", "grpc-v1alpha"]],
  ])("--list-services over reflection %s", async (_name, flags) => {
    const stdout = await bufCurl(["--http2-prior-knowledge", ...flags, "--list-services", server.url]);
    expect(lines(stdout)).toEqual([...EXPECTED_SERVICES].sort());
  });

  test("--list-methods lists every method of every service", async () => {
    const stdout = await bufCurl(["--http2-prior-knowledge", "--list-methods", server.url]);
    expect(lines(stdout)).toEqual(
      [
        `${GATEWAY}/Generate`,
        `${GATEWAY}/GenerateStream`,
        `${GATEWAY}/PoolStats`,
        `${GATEWAY}/ListModels`,
        `${GATEWAY}/GetUsage`,
        `${HEALTH}/Check`,
        `${HEALTH}/List`,
        `${HEALTH}/Watch`,
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      ].sort(),
    );
  });

  test.each(["connect", "grpc", "grpcweb"])(
    "calls GatewayService without --schema over %s",
    async (protocol) => {
      const call = async (method: string, body: object) =>
        messages(
          await bufCurl([
            "--http2-prior-knowledge",
            "--protocol",
            protocol,
            "-d",
            JSON.stringify(body),
            `${server.url}/${GATEWAY}/${method}`,
          ]),
        );
      expect(await call("ListModels", {})).toEqual([{ models: [{ name: "stub", aliases: ["stub-alias"] }] }]);
      expect(
        await call("Generate", {
          model: "stub",
          messages: [{ role: "user", content: "hello" }],
          maxTokens: 5,
        }),
      ).toEqual([
        {
          id: "stub-1",
          text: "echo: hello",
          finishReason: "FINISH_REASON_STOP",
          model: "stub",
          usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
        },
      ]);
      // The Timestamp resolves only if google/protobuf/timestamp.proto came with gateway.proto.
      expect(await call("PoolStats", {})).toEqual([{ startedAt: "2024-01-02T03:04:05Z" }]);
      expect(
        await call("GenerateStream", { model: "stub", messages: [{ role: "user", content: "x" }] }),
      ).toEqual([
        { start: { id: "stub-2", model: "stub" } },
        { delta: { text: "hi" } },
        { finish: { finishReason: "FINISH_REASON_STOP" } },
      ]);
    },
  );

  test("calls grpc.health.v1.Health/Check without --schema", async () => {
    const stdout = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      "{}",
      `${server.url}/${HEALTH}/Check`,
    ]);
    expect(messages(stdout)).toEqual([{ status: "SERVING" }]);
  });
});

type ReflectionRequestInit = MessageInitShape<typeof reflectionV1.ServerReflectionRequestSchema>;

/** One reflection v1 stream over connect-node's gRPC transport; requests are answered in order. */
function openReflectionV1(url: string) {
  const client = createClient(reflectionV1.ServerReflection, createGrpcTransport({ baseUrl: url }));
  const requests = createWritableIterable<ReflectionRequestInit>();
  const responses = client.serverReflectionInfo(requests)[Symbol.asyncIterator]();
  return {
    async ask(request: ReflectionRequestInit): Promise<reflectionV1.ServerReflectionResponse> {
      void requests.write(request);
      const next = await responses.next();
      if (next.done) throw new Error("the reflection stream ended");
      return next.value;
    },
    async close(): Promise<void> {
      requests.close();
      for (;;) if ((await responses.next()).done) return;
    },
  };
}

function fileNames(response: reflectionV1.ServerReflectionResponse): string[] {
  expect(response.messageResponse.case).toBe("fileDescriptorResponse");
  const files = response.messageResponse.value as reflectionV1.FileDescriptorResponse;
  return files.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

describe("reflection v1, request by request", () => {
  let reflection: ReturnType<typeof openReflectionV1>;
  beforeAll(() => {
    reflection = openReflectionV1(server.url);
  });
  afterAll(() => reflection.close());

  test("list_services echoes the host and the request", async () => {
    const response = await reflection.ask({
      host: "example",
      messageRequest: { case: "listServices", value: "" },
    });
    expect(response.validHost).toBe("example");
    expect(response.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "" });
    expect(response.messageResponse.case).toBe("listServicesResponse");
    const names = (response.messageResponse.value as reflectionV1.ListServiceResponse).service.map(
      (s) => s.name,
    );
    expect(names).toEqual(EXPECTED_SERVICES);
  });

  test.each([
    [GATEWAY],
    [`${GATEWAY}.Generate`],
    ["weaver.gateway.v1.GenerateRequest"],
    ["weaver.gateway.v1.GenerateRequest.MetadataEntry"],
    ["weaver.gateway.v1.GenerateRequest.max_tokens"],
    ["weaver.gateway.v1.GenerateStreamResponse.event"],
    ["weaver.gateway.v1.FinishReason"],
    ["weaver.gateway.v1.FINISH_REASON_STOP"],
    [".weaver.gateway.v1.Usage"],
  ])("file_containing_symbol %s answers gateway.proto and its import", async (symbol) => {
    const response = await reflection.ask({
      messageRequest: { case: "fileContainingSymbol", value: symbol },
    });
    expect(fileNames(response)).toEqual([
      "weaver/gateway/v1/gateway.proto",
      "google/protobuf/timestamp.proto",
    ]);
  });

  test.each([
    ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto"],
    ["grpc.reflection.v1alpha.ServerReflection", "grpc/reflection/v1alpha/reflection.proto"],
    ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("file_containing_symbol %s", async (symbol, file) => {
    const response = await reflection.ask({
      messageRequest: { case: "fileContainingSymbol", value: symbol },
    });
    expect(fileNames(response)).toEqual([file]);
  });

  test("file_by_filename answers the file and its transitive imports, each once", async () => {
    const response = await reflection.ask({
      messageRequest: { case: "fileByFilename", value: "weaver/gateway/v1/gateway.proto" },
    });
    expect(fileNames(response)).toEqual([
      "weaver/gateway/v1/gateway.proto",
      "google/protobuf/timestamp.proto",
    ]);
    // What came back is a complete, consistent set: a registry builds from it alone.
    const files = (response.messageResponse.value as reflectionV1.FileDescriptorResponse).fileDescriptorProto;
    const protos: FileDescriptorProto[] = files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: protos.reverse() }));
    expect(registry.getService(GATEWAY)?.methods.map((method) => method.name)).toEqual([
      "Generate",
      "GenerateStream",
      "PoolStats",
      "ListModels",
      "GetUsage",
    ]);
  });

  test("unknown names get a NOT_FOUND error_response and the stream goes on", async () => {
    const unknown: ReflectionRequestInit[] = [
      { messageRequest: { case: "fileContainingSymbol", value: "weaver.gateway.v1.Nope" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "weaver.gateway.v1.GenerateRequest", extensionNumber: 100 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "weaver.gateway.v1.Nope" } },
    ];
    for (const request of unknown) {
      const response = await reflection.ask(request);
      expect(response.messageResponse.case).toBe("errorResponse");
      expect(response.messageResponse.value).toMatchObject({ errorCode: Code.NotFound });
    }
    const empty = await reflection.ask({});
    expect(empty.messageResponse.value).toMatchObject({ errorCode: Code.InvalidArgument });
    const after = await reflection.ask({ messageRequest: { case: "listServices", value: "*" } });
    expect(after.messageResponse.case).toBe("listServicesResponse");
  });

  test("all_extension_numbers_of_type of a known message without extensions is empty", async () => {
    const response = await reflection.ask({
      messageRequest: { case: "allExtensionNumbersOfType", value: "weaver.gateway.v1.GenerateRequest" },
    });
    expect(response.messageResponse.case).toBe("allExtensionNumbersResponse");
    expect(response.messageResponse.value).toMatchObject({
      baseTypeName: "weaver.gateway.v1.GenerateRequest",
      extensionNumber: [],
    });
  });
});

describe("reflection v1alpha through @grpc/grpc-js and the .proto file", () => {
  type Reply = { [field: string]: unknown };

  /** Sends each request on one ServerReflectionInfo stream and collects the replies. */
  async function askV1alpha(url: string, requests: Reply[]): Promise<Reply[]> {
    const definition = loadSync("grpc/reflection/v1alpha/reflection.proto", {
      includeDirs: [PROTO_DIR],
      oneofs: true,
    });
    const proto = loadPackageDefinition(definition) as unknown as {
      grpc: { reflection: { v1alpha: { ServerReflection: ServiceClientConstructor } } };
    };
    const client: Client = new proto.grpc.reflection.v1alpha.ServerReflection(
      new URL(url).host,
      credentials.createInsecure(),
    );
    try {
      const call = (
        client as unknown as { ServerReflectionInfo(): ClientDuplexStream<Reply, Reply> }
      ).ServerReflectionInfo();
      const replies: Reply[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (reply: Reply) => replies.push(reply));
        call.on("error", reject);
        call.on("end", resolve);
      });
      for (const request of requests) call.write(request);
      call.end();
      await done;
      return replies;
    } finally {
      client.close();
    }
  }

  test("list_services and file_containing_symbol", async () => {
    const [list, symbol, missing] = await askV1alpha(server.url, [
      { listServices: "" },
      { fileContainingSymbol: `${GATEWAY}.GenerateStream` },
      { fileContainingSymbol: "no.Such" },
    ]);
    expect(list).toMatchObject({
      messageResponse: "listServicesResponse",
      listServicesResponse: { service: EXPECTED_SERVICES.map((name) => ({ name })) },
    });
    expect(symbol).toMatchObject({ messageResponse: "fileDescriptorResponse" });
    const files = (symbol as { fileDescriptorResponse: { fileDescriptorProto: Buffer[] } })
      .fileDescriptorResponse.fileDescriptorProto;
    expect(files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)).toEqual([
      "weaver/gateway/v1/gateway.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(missing).toMatchObject({ messageResponse: "errorResponse", errorResponse: { errorCode: 5 } });
  });
});

describe("descriptor index extensions (files with extensions, no server)", () => {
  // The gateway's files declare no extensions; these well-known files extend FeatureSet.
  const index = createDescriptorIndex([
    file_google_protobuf_cpp_features,
    file_google_protobuf_java_features,
  ]);
  const names = (files: Uint8Array[] | undefined) =>
    files?.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);

  test("file_containing_extension answers the declaring file and its imports", () => {
    expect(names(index.fileContainingExtension("google.protobuf.FeatureSet", cpp.number))).toEqual([
      "google/protobuf/cpp_features.proto",
      "google/protobuf/descriptor.proto",
    ]);
    expect(index.fileContainingExtension("google.protobuf.FeatureSet", 4242)).toBeUndefined();
    expect(index.fileContainingSymbol("pb.cpp")).toBeDefined();
  });

  test("all_extension_numbers_of_type lists known extensions; unknown types are undefined", () => {
    expect(index.extensionNumbersOf("google.protobuf.FeatureSet")).toEqual([cpp.number, java.number].sort());
    expect(index.extensionNumbersOf("google.protobuf.FileOptions")).toEqual([]);
    expect(index.extensionNumbersOf("no.Such")).toBeUndefined();
  });

  test("lists the services of the given files only; none here", () => {
    expect(index.serviceNames).toEqual([]);
    expect(index.fileNames).toEqual([
      "google/protobuf/descriptor.proto",
      "google/protobuf/cpp_features.proto",
      "google/protobuf/java_features.proto",
    ]);
  });
});

describe("registerReflection modes", () => {
  /** A listener serving `routes`; closed after the test. */
  async function serve(routes: (router: ConnectRouter) => void): Promise<string> {
    const listener = new Listener({
      host: "127.0.0.1",
      port: 0,
      handler: connectNodeAdapter({ routes }) as RequestHandler,
    });
    const address = await listener.listen();
    onTestFinished(() => listener.close(1_000));
    return `http://127.0.0.1:${address.port}`;
  }

  async function listServices(url: string): Promise<string[]> {
    const reflection = openReflectionV1(url);
    try {
      const response = await reflection.ask({ messageRequest: { case: "listServices", value: "" } });
      return (response.messageResponse.value as reflectionV1.ListServiceResponse).service.map((s) => s.name);
    } finally {
      await reflection.close();
    }
  }

  test("without files it lists what the router serves, even services registered after it", async () => {
    const url = await serve((router) => {
      registerReflection(router);
      router.service(GatewayService, STUB_GATEWAY);
    });
    expect(await listServices(url)).toEqual([...REFLECTION_SERVICE_NAMES, GATEWAY]);
  });

  test("with files it lists their services and its own, and describes only those files", async () => {
    const url = await serve((router) => {
      router.service(GatewayService, STUB_GATEWAY);
      createHealth().register(router);
      registerReflection(router, [file_weaver_gateway_v1_gateway]);
    });
    expect(await listServices(url)).toEqual([GATEWAY, ...REFLECTION_SERVICE_NAMES]);
    const reflection = openReflectionV1(url);
    onTestFinished(() => reflection.close());
    const health = await reflection.ask({ messageRequest: { case: "fileContainingSymbol", value: HEALTH } });
    expect(health.messageResponse).toMatchObject({
      case: "errorResponse",
      value: { errorCode: Code.NotFound },
    });
  });
});
