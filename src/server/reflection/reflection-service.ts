import { create, type DescFile } from "@bufbuild/protobuf";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createDescriptorIndex, type DescriptorIndex } from "./descriptor-index.js";

/** grpc.reflection.v1.ServerReflection, and the deprecated v1alpha that older clients still ask first. */
export const REFLECTION_SERVICES = [v1.ServerReflection, v1alpha.ServerReflection] as const;

/** "grpc.reflection.v1.ServerReflection" and "grpc.reflection.v1alpha.ServerReflection". */
export const REFLECTION_SERVICE_NAMES: readonly string[] = REFLECTION_SERVICES.map(
  (service) => service.typeName,
);

/** The files declaring the reflection services. */
export const REFLECTION_FILES: readonly DescFile[] = REFLECTION_SERVICES.map((service) => service.file);

/**
 * Registers server reflection, v1 and v1alpha, on `router`.
 *
 * With `files`, it describes exactly those files (plus the reflection files) and their imports,
 * and lists the services they declare; the index is built now, so a bad descriptor fails here.
 * Without, it describes every service the router serves — whatever is registered on it, before
 * or after this call — read when the first reflection request arrives.
 */
export function registerReflection(router: ConnectRouter, files?: readonly DescFile[]): void {
  let index: DescriptorIndex | undefined = files
    ? createDescriptorIndex([...files, ...REFLECTION_FILES])
    : undefined;
  const getIndex = () => {
    index ??= indexOfRouter(router);
    return index;
  };
  router.service(v1.ServerReflection, {
    serverReflectionInfo: (requests) =>
      answerEach(requests, (request) =>
        create(v1.ServerReflectionResponseSchema, respond(getIndex(), request)),
      ),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests) =>
      answerEach(requests, (request) =>
        create(v1alpha.ServerReflectionResponseSchema, respond(getIndex(), request)),
      ),
  });
}

/** The services a router serves, in registration order, and the files declaring them. */
function indexOfRouter(router: ConnectRouter): DescriptorIndex {
  const services = [...new Set(router.handlers.map((handler) => handler.service))];
  const files = [...new Set(services.map((service) => service.file))];
  return createDescriptorIndex(
    files,
    services.map((service) => service.typeName),
  );
}

/** A request of either version: their messages have the same fields. */
export type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The `message_response` oneof of a response, as either version's create() takes it. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

async function* answerEach<Req, Res>(
  requests: AsyncIterable<Req>,
  answer: (request: Req) => Res,
): AsyncIterable<Res> {
  for await (const request of requests) yield answer(request);
}

function respond<R extends ReflectionRequest>(index: DescriptorIndex, request: R) {
  let messageResponse: ReflectionAnswer;
  try {
    messageResponse = answerReflection(index, request);
  } catch (error) {
    // A failed lookup is answered in the stream; the stream itself stays open for the next request.
    messageResponse = errorAnswer(Code.Internal, error instanceof Error ? error.message : String(error));
  }
  return { validHost: request.host, originalRequest: request, messageResponse };
}

/**
 * Answers one reflection request. What is not found gets an error_response with NOT_FOUND, as
 * the reference servers answer, rather than an error status that would end the stream.
 */
export function answerReflection(index: DescriptorIndex, request: ReflectionRequest): ReflectionAnswer {
  const { messageRequest } = request;
  switch (messageRequest.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames.map((name) => ({ name })) },
      };
    case "fileByFilename":
      return files(index.fileByFilename(messageRequest.value), `file not found: ${messageRequest.value}`);
    case "fileContainingSymbol":
      return files(
        index.fileContainingSymbol(messageRequest.value),
        `symbol not found: ${messageRequest.value}`,
      );
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = messageRequest.value;
      return files(
        index.fileContainingExtension(containingType, extensionNumber),
        `extension not found: ${containingType} ${extensionNumber}`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(messageRequest.value);
      if (!numbers) return errorAnswer(Code.NotFound, `type not found: ${messageRequest.value}`);
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: messageRequest.value, extensionNumber: numbers },
      };
    }
    default:
      return errorAnswer(Code.InvalidArgument, "the request sets no message_request field");
  }
}

function files(found: Uint8Array[] | undefined, notFound: string): ReflectionAnswer {
  if (!found) return errorAnswer(Code.NotFound, notFound);
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: found } };
}

function errorAnswer(code: Code, message: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: code, errorMessage: message } };
}
