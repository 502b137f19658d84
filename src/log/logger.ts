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

/**
 * Written without blocking the event loop, and in batches: each write is a round trip through
 * libuv's thread pool, which one line per RPC paid on every call. Lines wait at most 200 ms,
 * pino flushes what is left when the process exits, and lines that supervisors wait for are
 * flushed at once (`logger.flush()`).
 */
const STDOUT = { dest: 1, sync: false, minLength: 4096, periodicFlush: 200 };

/** The levels LOG_LEVEL may name, most severe first. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** What is wrong with LOG_LEVEL, in a line a person can act on; undefined when it is a level. */
export function logLevelProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const level = env.LOG_LEVEL;
  if (level === undefined || LOG_LEVELS.includes(level)) return undefined;
  return `LOG_LEVEL: "${level}" is not a log level (use one of: ${LOG_LEVELS.join(", ")})`;
}

/** JSON logs at LOG_LEVEL (default info); keys and auth headers are redacted at the logger. */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: env.LOG_LEVEL ?? "info",
    // Read by people and by log pipelines alike: an ISO time and the level's name, not epoch ms and 30.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    base: { service: "weaver-gateway" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  return pino(options, destination ?? pino.destination(STDOUT));
}

/**
 * On a terminal, lines a person reads: pino-pretty, a devDependency, so `npm start` from a clone
 * has it and the production image (JSON for its log pipeline) does not; undefined where it is not
 * installed. Same levels, fields and redaction as the JSON lines.
 */
export async function createTerminalLogger(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Logger | undefined> {
  try {
    const { default: pretty } = await import("pino-pretty");
    return createLogger(
      env,
      pretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,service", sync: true }),
    );
  } catch {
    return undefined;
  }
}
