import type { GetUsageRequest } from "../../gen/weaver/gateway/v1/gateway_pb.js";
import type { CallerKey } from "../access/caller-keys.js";
import type { UsageQuery } from "../access/usage-rows.js";
import { GatewayError, invalidField } from "../errors/gateway-error.js";

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * What a GetUsage caller may read: an admin key (or anyone on a gateway without keys) every key's
 * rows, any other key its own only (PERMISSION_DENIED when it names another's).
 */
export function usageQuery(request: GetUsageRequest, caller: CallerKey | undefined, now: Date): UsageQuery {
  const today = now.toISOString().slice(0, 10);
  const from = day(request.fromDay, "from_day", today);
  const to = day(request.toDay, "to_day", today);
  if (from > to) throw invalidField("from_day", `must not be after to_day (${from} > ${to})`);
  const named = request.keys.length > 0 ? request.keys : undefined;
  if (caller === undefined || caller.admin) return { from, to, keys: named };
  const other = named?.find((name) => name !== caller.name);
  if (other !== undefined)
    throw new GatewayError(
      "permission_denied",
      `key "${caller.name}" may read its own usage only, not "${other}"'s`,
      {
        reason: "ADMIN_ROLE_REQUIRED",
      },
    );
  return { from, to, keys: [caller.name] };
}

function day(value: string, field: string, fallback: string): string {
  if (value === "") return fallback;
  if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    throw invalidField(field, `must be a day as YYYY-MM-DD, not "${value}"`);
  return value;
}
