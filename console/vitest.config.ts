import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineProject } from "vitest/config";

/** The repository root: include patterns and reported paths are relative to it. */
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * The console's Vitest project, referenced from the root vitest.config.ts `test.projects`.
 * The root is the repository root whether this file runs on its own
 * (`vitest run --config console/vitest.config.ts`) or as a project. A project's Vite `root` is
 * replaced by its config file's directory, so `test.root` (which wins) is set as well.
 */
export default defineProject({
  root: repoRoot,
  // Vite's root is not the console directory here, so the plugin is told where its config is.
  plugins: [svelte({ configFile: fileURLToPath(new URL("./svelte.config.js", import.meta.url)) })],
  // Without the browser condition `svelte` resolves to its server build and `mount` throws.
  resolve: { conditions: ["browser"] },
  test: {
    name: "console",
    root: repoRoot,
    environment: "happy-dom",
    include: ["console/src/**/*.test.ts"],
  },
});
