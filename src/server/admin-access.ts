import type { Interceptor } from "@connectrpc/connect";
import type { AccessControl } from "../access/access-control.js";
import { fetchKeyHeaders, type KeyHeaders, presentedKey } from "../access/caller-keys.js";
import { GatewayError } from "../errors/gateway-error.js";
import { toConnectError } from "../service/connect-errors.js";

/**
 * With `server.protect_admin`, what tells an operator about the gateway (/metrics, PoolStats,
 * ListModels, /v1/models, gRPC health and reflection) needs a key with the admin role. Without it,
 * or on methods callers use, this lets everything through.
 */
export class AdminAccess {
  constructor(
    private readonly access: AccessControl,
    readonly protect: boolean,
  ) {}

  /** Why the request may not read admin information (UNAUTHENTICATED or PERMISSION_DENIED), or undefined. */
  refusal(headers: KeyHeaders): GatewayError | undefined {
    if (!this.protect) return undefined;
    try {
      const key = this.access.authenticate(presentedKey(headers));
      if (key?.admin) return undefined;
      return new GatewayError("permission_denied", `key "${key?.name}" does not have the admin role`, {
        reason: "ADMIN_ROLE_REQUIRED",
      });
    } catch (error) {
      return error as GatewayError;
    }
  }

  /** The same, for every RPC but those `open` names (the generation calls and GetUsage decide for themselves). */
  interceptor(open: (service: string, method: string) => boolean): Interceptor {
    return (next) => async (req) => {
      if (this.protect && !open(req.service.typeName, req.method.name)) {
        const refusal = this.refusal(fetchKeyHeaders(req.header));
        if (refusal !== undefined) throw toConnectError(refusal);
      }
      return next(req);
    };
  }
}
