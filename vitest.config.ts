import { configDefaults, defineConfig } from "vitest/config";

/** Long runs that judge a gateway's timing and memory under load: alone, after everything else. */
const FAULT_RUNS = ["test/chaos/**/*.test.ts", "test/soak/**/*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers only add noise to socket-heavy suites.
    maxWorkers: 2,
    // The JSON report is what CI counts ("N passed, N failed").
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...FAULT_RUNS],
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: FAULT_RUNS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
