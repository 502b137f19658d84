import { GatewayError } from "../errors/gateway-error.js";
import type { CallBounds } from "../router/model-router.js";

/** One call's cancel and deadline, and `end()`, which the call must reach: it stops the timer. */
export interface BoundedCall extends CallBounds {
  end(): void;
}

/** Node's longest timer (~24.8 days): a longer one fires at once, so a deadline past it is held to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The bounds of one call: its caller's cancel, and its caller's deadline or, when the caller set
 * none, the gateway's default (`server.default_deadline`), so that no call holds an upstream, and
 * its bill, forever. The deadline is enforced here, whatever the protocol did about it already.
 */
export function boundCall(
  signal: AbortSignal,
  timeoutMs: number | undefined,
  defaultMs: number,
): BoundedCall {
  // Connect hands over the time left, which is below 0 when the deadline passed while the request
  // was read: the call ends at once, and Node is not given a negative timer (it warns).
  const ms = Math.max(0, Math.min(timeoutMs ?? defaultMs, MAX_TIMER_MS));
  const controller = new AbortController();
  const follow = () => controller.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener("abort", follow, { once: true });
  // Every call arms the timer, few see it fire: the error is made only then.
  const timer = setTimeout(() => controller.abort(deadlinePassed(timeoutMs, defaultMs)), ms);
  return {
    signal: controller.signal,
    deadline: performance.now() + ms,
    end() {
      clearTimeout(timer);
      signal.removeEventListener("abort", follow);
    },
  };
}

function deadlinePassed(timeoutMs: number | undefined, defaultMs: number): GatewayError {
  const passed =
    timeoutMs === undefined
      ? `the call set no deadline, and the gateway's default of ${defaultMs} ms (server.default_deadline) passed`
      : `the caller's deadline of ${timeoutMs} ms passed`;
  return new GatewayError("deadline_exceeded", passed);
}
