import { type Logger, pino } from "pino";

export type { Logger };

/** JSON logs at LOG_LEVEL (default info); keys and auth headers are redacted at the logger. */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: env.LOG_LEVEL ?? "info",
    base: { service: "weaver-gateway" },
    redact: {
      paths: [
        "*.authorization",
        "*.apiKey",
        "*.api_key",
        "*.headers.authorization",
        '*.headers["x-api-key"]',
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
