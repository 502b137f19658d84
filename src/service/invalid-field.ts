import { GatewayError } from "../errors/gateway-error.js";

/** A field of the caller's request is wrong: INVALID_ARGUMENT, the field named first ("stop[2] must not be empty"). */
export function invalid(field: string, problem: string): never {
  throw new GatewayError("invalid_argument", `${field} ${problem}`, { reason: "INVALID_FIELD" });
}
