import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

/** The repository root, where package.json lives. */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);

/**
 * Compiles src and gen with tsconfig.build.json into `<stage>/dist`, beside copies of package.json
 * and proto/: the package as `npm pack` of the repository would see it, without touching dist/.
 */
export async function stagePackage(): Promise<string> {
  const stage = await mkdtemp(join(tmpdir(), "weaver-stage-"));
  const tsc = join(REPO_ROOT, "node_modules", ".bin", "tsc");
  await run(tsc, ["-p", "tsconfig.build.json", "--outDir", join(stage, "dist")], { cwd: REPO_ROOT });
  await Promise.all([
    copyFile(join(REPO_ROOT, "package.json"), join(stage, "package.json")),
    cp(join(REPO_ROOT, "proto"), join(stage, "proto"), { recursive: true }),
  ]);
  return stage;
}

/**
 * Copies a staged build over the repository's dist/, each file written beside its target and
 * renamed into place, so another test reading dist/ at the same time sees whole files.
 */
export async function publishToDist(stage: string): Promise<void> {
  const from = join(stage, "dist");
  const files = await readdir(from, { recursive: true, withFileTypes: true });
  for (const file of files.filter((entry) => entry.isFile())) {
    const source = join(file.parentPath, file.name);
    const target = join(REPO_ROOT, "dist", source.slice(from.length + 1));
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.tmp-${process.pid}`;
    await copyFile(source, temporary);
    await rename(temporary, target);
  }
}

export interface PackedPackage {
  /** The tarball npm made. */
  tarball: string;
  /** Paths in the tarball, e.g. "dist/src/client/index.js". */
  files: string[];
}

/** Runs `npm pack` on a staged package; the tarball lands in `destination`. */
export async function packPackage(stage: string, destination: string): Promise<PackedPackage> {
  const { stdout } = await run(
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", destination],
    { cwd: stage },
  );
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
  return { tarball: join(destination, packed.filename), files: packed.files.map((file) => file.path) };
}

/**
 * Installs a tarball into `<project>/node_modules/weaver-gateway` as npm would unpack it, and links
 * its dependencies (and `extra` packages, such as @types/node) to the repository's copies: the
 * same files npm would fetch, without the network.
 */
export async function installTarball(project: string, tarball: string, extra: string[] = []): Promise<void> {
  const target = join(project, "node_modules", "weaver-gateway");
  await mkdir(target, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
  const manifest = JSON.parse(await readFile(join(target, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...extra]) {
    const link = join(project, "node_modules", name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(REPO_ROOT, "node_modules", name), link, "dir");
  }
}

export async function removeDirectories(...directories: (string | undefined)[]): Promise<void> {
  await Promise.all(
    directories.map((directory) => directory && rm(directory, { recursive: true, force: true })),
  );
}
