import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";

// `npm test` first runs scripts/ensure-test-packages.sh (pretest), which installs the Debian
// packages the suite needs when they are missing. Run here on a PATH of stubs: an apt-get that
// records what it was asked, and promtool, chromium and redis-server present or not.
const root = join(import.meta.dirname, "..", "..");
const script = join(root, "scripts", "ensure-test-packages.sh");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stubs(names: string[], { sudo = true } = {}): { bin: string; calls: () => string[] } {
  const bin = mkdtempSync(join(tmpdir(), "weaver-stubs-"));
  dirs.push(bin);
  const log = join(bin, "calls.log");
  writeFileSync(log, "");
  for (const name of names) {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  // Not root, the script asks sudo; this one lets it, so the tests pass as any user.
  if (sudo) writeFileSync(join(bin, "sudo"), '#!/bin/bash\n[ "$1" = -n ] && shift\n"$@"\n');
  if (sudo) chmodSync(join(bin, "sudo"), 0o755);
  return { bin, calls: () => readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

function run(bin: string, chromium: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // PATH holds the stubs alone: bash itself is started by its full path.
    execFile(
      "/bin/bash",
      [script],
      { env: { PATH: bin, WEAVER_CHROMIUM: chromium } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("installs what is missing with apt-get, after apt-get update", async () => {
  const { bin, calls } = stubs(["apt-get"]);
  const result = await run(bin, "/nonexistent/chromium");
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(
    "installing the Debian packages the suite needs: prometheus chromium redis-server",
  );
  expect(calls()).toEqual([
    "apt-get update -q",
    "apt-get install -y -q --no-install-recommends prometheus chromium redis-server",
  ]);
});

test("installs nothing when every package is there", async () => {
  const { bin, calls } = stubs(["apt-get", "promtool", "chromium", "redis-server"]);
  const result = await run(bin, join(bin, "chromium"));
  expect(result).toMatchObject({ code: 0, stdout: "" });
  expect(calls()).toEqual([]);
});

test("installs only what is missing", async () => {
  const { bin, calls } = stubs(["apt-get", "chromium", "redis-server"]);
  const result = await run(bin, join(bin, "chromium"));
  expect(result.code).toBe(0);
  expect(calls()).toContain("apt-get install -y -q --no-install-recommends prometheus");
});

test("without apt-get it names the packages to install and fails, before any test runs", async () => {
  const { bin } = stubs([], { sudo: false });
  const result = await run(bin, "/nonexistent/chromium");
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    "sudo apt-get install --no-install-recommends prometheus chromium redis-server",
  );
});
