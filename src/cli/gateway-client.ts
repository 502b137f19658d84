import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/weaver/gateway/v1/gateway_pb.js";

/** A client of a running gateway for the command-line tools, presenting WEAVER_API_KEY when it is set. */
export function cliGatewayClient(url: string, env: NodeJS.ProcessEnv = process.env) {
  const key = env.WEAVER_API_KEY;
  const withKey: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
  return createClient(
    GatewayService,
    createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: key ? [withKey] : [] }),
  );
}
