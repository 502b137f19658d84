import type { Interceptor } from "@connectrpc/connect";
import type { GatewayClientOptions } from "./gateway-client.js";

/** What every transport, Node's or the browser's, takes from the options. */
export function transportOptions({ baseUrl, apiKey, timeoutMs }: GatewayClientOptions) {
  return {
    baseUrl,
    interceptors: apiKey === undefined ? [] : [bearer(apiKey)],
    defaultTimeoutMs: timeoutMs,
  };
}

export function unknownTransport(transport: string): Error {
  return new Error(`unknown transport "${transport}" (use grpc, connect or grpc-web)`);
}

function bearer(apiKey: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  };
}
