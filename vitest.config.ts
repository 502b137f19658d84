import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: socket-heavy suites in parallel only add noise.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
