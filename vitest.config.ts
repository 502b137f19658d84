import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add noise to socket-heavy suites.
    maxWorkers: 2,
    // The JSON report is what CI counts ("N passed, N failed").
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
