import { parseArgs } from "node:util";
import { ConfigReloader } from "./config/config-reloader.js";
import { ConfigError, loadConfig } from "./config/load-config.js";
import { ListenError, startGateway } from "./gateway.js";
import { createLogger, createTerminalLogger, logLevelProblem } from "./log/logger.js";

const levelProblem = logLevelProblem();
if (levelProblem !== undefined) {
  process.stderr.write(`${levelProblem}\n`);
  process.exit(2);
}
// A person at a terminal reads pretty lines; anything else (a pipe, a container's log) gets JSON.
const logger = (process.stdout.isTTY && (await createTerminalLogger())) || createLogger();
const { values } = parseArgs({ options: { config: { type: "string" } } });

try {
  const file = values.config ?? process.env.WEAVER_CONFIG;
  const config = loadConfig({ file, env: process.env });
  const gateway = await startGateway(config, { logger });
  const reloader = new ConfigReloader({ file, gateway, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    // A second signal during the drain changes nothing: the drain has its own timeout.
    if (stopping) return;
    stopping = true;
    reloader.close();
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining");
    logger.flush();
    await gateway.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGHUP", () => void reloader.reload("SIGHUP"));
  // Announced only once a signal would be drained, since supervisors act on this line.
  const models = Object.keys(config.models).join(", ");
  logger.info(
    {
      url: gateway.url,
      models,
      config: file ?? "defaults",
      metrics: `${gateway.url}/metrics`,
      health: `${gateway.url}/readyz`,
    },
    `weaver-gateway listening on ${gateway.url}`,
  );
  if (models === "")
    logger.warn(
      `no model is configured: ${file} has an empty models section, so every generation call is answered NOT_FOUND`,
    );
  logger.flush();
} catch (error) {
  if (error instanceof ConfigError || error instanceof ListenError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  logger.fatal({ err: error }, "weaver-gateway failed to start");
  process.exit(1);
}
