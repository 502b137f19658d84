import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Gateway, ReloadReport } from "../gateway.js";
import type { Logger } from "../log/logger.js";
import { ConfigError, loadConfig } from "./load-config.js";

/** Editors save in steps (truncate, write; or write aside, rename): one reload once they are done. */
const SETTLE_MS = 200;

export interface ConfigReloaderOptions {
  /** The config file; none means the built-in default (a reload then reads the environment again). */
  file: string | undefined;
  gateway: Gateway;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads the config again on request (SIGHUP) or, with `server.watch_config`, when its file
 * changes. A config with mistakes is refused, every one logged, and the running one stays; a
 * valid one is handed to the gateway to swap in.
 */
export class ConfigReloader {
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;
  /** Of the text last loaded: a save that changes nothing, or a second event of one save, reloads nothing. */
  private loadedDigest: string | undefined;
  /** Set by close: a reload that ends afterwards starts no watch. */
  private closed = false;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.loadedDigest = this.digest();
    this.watchIf(options.gateway.config.server.watch_config);
  }

  /** Loads and applies the config; resolves once it is served, or refused (never rejects). */
  async reload(trigger: string): Promise<void> {
    const { file, gateway, logger, env = process.env } = this.options;
    const source = file ?? "defaults";
    let report: ReloadReport;
    try {
      this.loadedDigest = this.digest();
      report = await gateway.reload(loadConfig({ file, env }));
    } catch (error) {
      if (error instanceof ConfigError)
        logger.error(
          { trigger, config: source, problems: error.problems },
          `config reload refused, the running config stays: ${error.problems.join("; ")}`,
        );
      else
        logger.error(
          { trigger, config: source, err: error },
          "config reload failed; the running config stays",
        );
      return;
    }
    const { pools } = report;
    report.drained.then(
      () => {
        if (pools.drained.length > 0)
          logger.info(
            { trigger, origins: pools.drained },
            "the origins the reload dropped are drained and closed",
          );
      },
      (error: unknown) => logger.warn({ trigger, err: error }, "closing the pools the reload dropped failed"),
    );
    logger.info(
      {
        trigger,
        config: source,
        models: Object.keys(gateway.config.models).join(", "),
        poolsKept: pools.kept.length,
        poolsOpened: pools.opened,
        poolsDrained: pools.drained,
      },
      "config reloaded",
    );
    if (report.needsRestart.length > 0)
      logger.warn(
        { trigger, settings: report.needsRestart },
        `the reloaded config changes ${report.needsRestart.join(", ")}: the running values stay until a restart`,
      );
    this.watchIf(gateway.config.server.watch_config);
  }

  close(): void {
    this.closed = true;
    this.watchIf(false);
  }

  private watchIf(wanted: boolean): void {
    const { file, logger } = this.options;
    if (!wanted || file === undefined) {
      clearTimeout(this.settle);
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (this.watcher !== undefined || this.closed) return;
    // The folder, not the file: an editor that saves by renaming a new file into place would
    // leave a watch on the file itself watching the old one.
    const name = basename(file);
    try {
      this.watcher = this.watchFolder(dirname(resolve(file)), name);
    } catch (error) {
      // Out of inotify watches (ENOSPC), say: the config is served all the same; SIGHUP still reloads.
      logger.warn({ err: error, config: file }, "cannot watch the config; SIGHUP still reloads it");
      return;
    }
    this.watcher.on("error", (error) =>
      logger.warn({ err: error, config: file }, "watching the config stopped"),
    );
    this.watcher.unref();
  }

  private watchFolder(folder: string, name: string): FSWatcher {
    return watch(folder, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.settle);
      this.settle = setTimeout(() => {
        if (this.digest() !== this.loadedDigest) void this.reload("file changed");
      }, SETTLE_MS);
    });
  }

  private digest(): string | undefined {
    const { file } = this.options;
    if (file === undefined) return undefined;
    try {
      return createHash("sha256").update(readFileSync(file)).digest("hex");
    } catch {
      return undefined;
    }
  }
}
