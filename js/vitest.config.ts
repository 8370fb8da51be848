import { defineConfig } from "vitest/config";

// Pure units run in node; tests that need a DOM opt in with `// @vitest-environment happy-dom`.
export default defineConfig({
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts"],
  },
});
