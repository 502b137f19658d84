import { type ContextValues, createContextKey } from "@connectrpc/connect";
import { type CallArrival, rpcProtocol } from "./call-observer.js";

/** Set per RPC by the server: the HTTP version the request came over, which a handler cannot see. */
export const httpVersionKey = createContextKey<string | undefined>(undefined, {
  description: "http version",
});

/** An RPC as the call observer sees it arrive. */
export function rpcArrival(
  method: string,
  { header, values }: { header: Headers; values: ContextValues },
  infrastructure = false,
): CallArrival {
  return {
    method,
    protocol: rpcProtocol(header.get("content-type")),
    http: values.get(httpVersionKey),
    infrastructure,
  };
}
