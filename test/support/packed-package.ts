import { execFile } from "node:child_process";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/** The repository root, where package.json and package-lock.json live. */
export const REPO_ROOT = join(import.meta.dirname, "..", "..");
const run = promisify(execFile);

export interface PackedPackage {
  /** The tarball npm made. */
  tarball: string;
  /** Its size on disk, in bytes. */
  bytes: number;
  /** Paths in the tarball, e.g. "dist/packages/client/src/index.js". */
  files: string[];
}

/** Runs `npm pack` on a workspace, whose prepack builds it as for a release; the tarball lands in `destination`. */
export async function packWorkspace(workspace: string, destination: string): Promise<PackedPackage> {
  const { stdout } = await run(
    "npm",
    ["pack", "--json", "-w", workspace, "--pack-destination", destination],
    {
      cwd: REPO_ROOT,
    },
  );
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
  const tarball = join(destination, packed.filename);
  return { tarball, bytes: (await stat(tarball)).size, files: packed.files.map((file) => file.path) };
}

/**
 * Installs a tarball into `project` as a user would, with npm: from npm's cache, which holds every
 * dependency once `npm ci` has run here, or else from the registry.
 */
export async function installTarball(project: string, tarball: string): Promise<void> {
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
    cwd: project,
  });
}

export interface InstalledPackages {
  /** Every package in node_modules, by `npm ls --all`, sorted. */
  names: string[];
  /** node_modules' size on disk, by du. */
  bytes: number;
}

export async function installedPackages(project: string): Promise<InstalledPackages> {
  const [{ stdout: tree }, { stdout: usage }] = await Promise.all([
    run("npm", ["ls", "--all", "--json"], { cwd: project }),
    run("du", ["-sk", "node_modules"], { cwd: project }),
  ]);
  const names = new Set<string>();
  const walk = (node: DependencyTree) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      names.add(name);
      walk(child);
    }
  };
  walk(JSON.parse(tree) as DependencyTree);
  return { names: [...names].sort(), bytes: Number.parseInt(usage, 10) * 1024 };
}

interface DependencyTree {
  dependencies?: Record<string, DependencyTree>;
}

/**
 * What installing a workspace should bring, read from package-lock.json: its dependencies, theirs,
 * and the peers npm installs with them (the optional ones excepted), sorted.
 */
export async function lockedDependencies(workspace: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockedPackage>;
  };
  const names = new Set<string>();
  const pending = Object.keys(lock.packages[workspace]?.dependencies ?? {});
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (names.has(name)) continue;
    names.add(name);
    const locked = lock.packages[`node_modules/${name}`];
    if (!locked) throw new Error(`package-lock.json has no node_modules/${name}`);
    const peers = Object.keys(locked.peerDependencies ?? {}).filter(
      (peer) => !locked.peerDependenciesMeta?.[peer]?.optional,
    );
    pending.push(...Object.keys(locked.dependencies ?? {}), ...peers);
  }
  return [...names].sort();
}

interface LockedPackage {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export async function removeDirectories(...directories: (string | undefined)[]): Promise<void> {
  await Promise.all(
    directories.map((directory) => directory && rm(directory, { recursive: true, force: true })),
  );
}
