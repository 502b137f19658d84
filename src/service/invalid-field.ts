import { invalidField } from "../errors/gateway-error.js";

/** Refuses the request for one of its fields (see invalidField); throws, so it reads as a statement. */
export function invalid(field: string, problem: string): never {
  throw invalidField(field, problem);
}
