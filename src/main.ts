import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { ConfigReloader } from "./config/config-reloader.js";
import { ConfigError, loadConfig } from "./config/load-config.js";
import type { GatewayConfig } from "./config/schema.js";
import { ListenError, startGateway } from "./gateway.js";
import { createLogger, createTerminalLogger, type Logger, logLevelProblem } from "./log/logger.js";
import { WorkerLink } from "./workers/worker-link.js";
import { WORKER_ENV } from "./workers/worker-messages.js";
import { WorkerStartError, WorkerSupervisor } from "./workers/worker-supervisor.js";

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
  if (cluster.isPrimary && config.server.workers > 1) await superviseWorkers(config, file, logger);
  else if (cluster.isWorker)
    await serve(config, file, logger.child({ worker: Number(process.env[WORKER_ENV]) }));
  else await serve(config, file, logger);
} catch (error) {
  if (error instanceof ConfigError || error instanceof ListenError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  // The worker printed why; its code is the gateway's.
  if (error instanceof WorkerStartError) process.exit(error.exitCode);
  logger.fatal({ err: error }, "weaver-gateway failed to start");
  process.exit(1);
}

/** Serves the gateway in this process: the whole of it, or one of `server.workers`. */
async function serve(config: GatewayConfig, file: string | undefined, logger: Logger): Promise<void> {
  const link = cluster.isWorker ? new WorkerLink(Number(process.env[WORKER_ENV])) : undefined;
  const gateway = await startGateway(config, { logger, workers: link });
  const reloader = new ConfigReloader({ file, gateway, logger });
  onStopSignal(async (signal) => {
    reloader.close();
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining");
    logger.flush();
    await gateway.close();
    logger.info("stopped");
  });
  process.on("SIGHUP", () => void reloader.reload("SIGHUP"));
  if (link) {
    logger.info({ pid: process.pid }, "worker ready");
    link.ready(gateway.url);
  } else announce(config, file, gateway.url);
}

/** Runs `server.workers` processes on the one port, and stops them together. */
async function superviseWorkers(
  config: GatewayConfig,
  file: string | undefined,
  logger: Logger,
): Promise<void> {
  const supervisor = new WorkerSupervisor(config.server.workers, logger, config.server.drain_timeout);
  // Until the workers listen a signal stops them too: none is left running without its primary.
  onStopSignal(async (signal) => {
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining every worker");
    logger.flush();
    await supervisor.stop(signal);
    logger.info("stopped");
  });
  process.on("SIGHUP", () => supervisor.reload());
  announce(config, file, await supervisor.start());
}

/** Stops once on SIGTERM or SIGINT: a second signal during the drain changes nothing, it has its own timeout. */
function onStopSignal(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void stop(signal).then(() => process.exit(0));
  };
  process.on("SIGTERM", once);
  process.on("SIGINT", once);
}

/** The line supervisors act on: logged only once a signal would be drained. */
function announce(config: GatewayConfig, file: string | undefined, url: string): void {
  const models = Object.keys(config.models).join(", ");
  logger.info(
    {
      url,
      models,
      workers: config.server.workers,
      config: file ?? "defaults",
      metrics: `${url}/metrics`,
      health: `${url}/readyz`,
    },
    `weaver-gateway listening on ${url}`,
  );
  if (models === "")
    logger.warn(
      `no model is configured: ${file} has an empty models section, so every generation call is answered NOT_FOUND`,
    );
  logger.flush();
}
