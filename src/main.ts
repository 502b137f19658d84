import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config/load-config.js";
import { startGateway } from "./gateway.js";
import { createLogger } from "./log/logger.js";

const logger = createLogger();
const { values } = parseArgs({ options: { config: { type: "string" } } });

try {
  const config = loadConfig({ file: values.config ?? process.env.WEAVER_CONFIG, env: process.env });
  const gateway = await startGateway(config, { logger });
  const models = Object.keys(config.models).join(", ");
  logger.info({ url: gateway.url, models }, `weaver-gateway listening on ${gateway.url}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining");
    await gateway.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  logger.fatal({ err: error }, "weaver-gateway failed to start");
  process.exit(1);
}
