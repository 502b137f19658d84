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
  // One of our own workers only when our primary says so: a process forked by another cluster
  // parent (PM2's cluster mode) is a whole gateway, and has no primary of ours to ask.
  const worker = cluster.isWorker ? process.env[WORKER_ENV] : undefined;
  if (worker !== undefined)
    await serve(config, file, logger.child({ worker: Number(worker) }), Number(worker));
  else if (cluster.isPrimary && config.server.workers > 1) await superviseWorkers(config, file, logger);
  else {
    if (config.server.workers > 1)
      logger.warn(
        { workers: config.server.workers },
        "server.workers is ignored: this process is itself a cluster worker (PM2's cluster mode?); it serves alone",
      );
    await serve(config, file, logger);
  }
} catch (error) {
  if (error instanceof ConfigError || error instanceof ListenError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  // A worker that exited printed why; one killed by a signal could not.
  if (error instanceof WorkerStartError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(error.exitCode);
  }
  logger.fatal({ err: error }, "weaver-gateway failed to start");
  process.exit(1);
}

/** Serves the gateway in this process: the whole of it, or worker number `worker` of `server.workers`. */
async function serve(
  config: GatewayConfig,
  file: string | undefined,
  logger: Logger,
  worker?: number,
): Promise<void> {
  // A SIGHUP while starting reloads once started, rather than killing the process (its default).
  let reloadWhenStarted = false;
  const onHangUp = () => {
    reloadWhenStarted = true;
  };
  process.on("SIGHUP", onHangUp);
  const link = worker === undefined ? undefined : new WorkerLink(worker);
  const gateway = await startGateway(config, { logger, workers: link });
  const reloader = new ConfigReloader({ file, gateway, logger });
  process.off("SIGHUP", onHangUp);
  process.on("SIGHUP", () => void reloader.reload("SIGHUP"));
  if (reloadWhenStarted) void reloader.reload("SIGHUP");
  onStopSignal(async (signal) => {
    reloader.close();
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining");
    logger.flush();
    await gateway.close();
    logger.info("stopped");
    return 0;
  });
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
  const { workers: count, host, port, drain_timeout: drainTimeoutMs } = config.server;
  // A worker that keeps dying as it starts stops the gateway as SIGTERM would (the others drain),
  // and the exit code says it failed.
  let exitCode = 0;
  const onGiveUp = () => {
    exitCode = 1;
    process.kill(process.pid, "SIGTERM");
  };
  const supervisor = new WorkerSupervisor({ count, host, port, drainTimeoutMs, onGiveUp }, logger);
  // Until the workers listen a signal stops them too: none is left running without its primary.
  onStopSignal(async (signal) => {
    logger.info({ signal, drainTimeoutMs: config.server.drain_timeout }, "draining every worker");
    logger.flush();
    await supervisor.stop(signal);
    logger.info("stopped");
    return exitCode;
  });
  process.on("SIGHUP", () => supervisor.reload());
  announce(config, file, await supervisor.start());
}

/**
 * Stops once on SIGTERM or SIGINT, exiting with the code `stop` returns: a second
 * signal during the drain changes nothing, it has its own timeout.
 */
function onStopSignal(stop: (signal: NodeJS.Signals) => Promise<number>): void {
  let stopping = false;
  const once = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void stop(signal).then((code) => process.exit(code));
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
