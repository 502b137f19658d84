import { type Logger, pino } from "pino";

export type { Logger };

// Named paths, not wildcards: a wildcard makes the redactor walk every object of every line.
const REDACTED_PATHS = [
  "authorization",
  "apiKey",
  "api_key",
  "headers.authorization",
  'headers["x-api-key"]',
  "err.headers.authorization",
  'err.headers["x-api-key"]',
];

/** JSON logs at LOG_LEVEL (default info); keys and auth headers are redacted at the logger. */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: env.LOG_LEVEL ?? "info",
    base: { service: "weaver-gateway" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  // Written without blocking the event loop on every line; pino flushes it when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}
