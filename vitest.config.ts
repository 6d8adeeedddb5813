import { defineConfig } from "vitest/config";

/**
 * One run, two projects: `node` (unit, integration and Chromium e2e against real NATS + Postgres
 * started by test/global-setup.ts) and `console` (Svelte components in happy-dom). The JSON
 * report feeds the `N passed, N failed` line of .ci/run.
 */
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    // Two cores on CI: the services are shared, so more forks only contend.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      "console/vitest.config.ts",
    ],
  },
});
