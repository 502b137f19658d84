import { execFileSync } from "node:child_process";

/**
 * wrk and h2load are Debian packages (wrk, nghttp2-client), as is redis-server for the keys
 * scenario. Installs the missing ones as
 * scripts/ensure-test-packages.sh does for the tests: apt-get as root, or through sudo without a
 * password; otherwise fails saying what to install.
 */
const PACKAGES = { wrk: "wrk", h2load: "nghttp2-client" } as const;

export function ensureLoadTools(progress: (message: string) => void): void {
  ensureDebianPackages(PACKAGES, progress);
}

/** Installs the Debian packages (command: package) whose command is not on the PATH. */
export function ensureDebianPackages(
  packages: Record<string, string>,
  progress: (message: string) => void,
): void {
  const missing = Object.entries(packages)
    .filter(([command]) => !onPath(command))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const asRoot = process.getuid?.() === 0 ? [] : canSudo() ? ["sudo"] : undefined;
  if (asRoot === undefined || !onPath("apt-get")) {
    throw new Error(`missing ${missing.join(", ")}: install them (apt-get install ${missing.join(" ")})`);
  }
  progress(`installing ${missing.join(", ")} (apt-get)`);
  const apt = (args: string[]) => {
    const [file, ...rest] = [...asRoot, "apt-get", ...args];
    // apt's output goes to stderr: stdout is the report.
    execFileSync(file as string, rest, {
      stdio: ["ignore", 2, 2],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  };
  apt(["update", "-q"]);
  apt(["install", "-y", "-q", "--no-install-recommends", ...missing]);
}

function onPath(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function canSudo(): boolean {
  try {
    execFileSync("sudo", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
