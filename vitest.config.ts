import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs Debian's Chromium for the browser tests when it is missing (or says how).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only contend.
    maxWorkers: 2,
    // Each worker keeps its module cache from file to file: importing the app and the AWS SDK
    // once per worker instead of once per file (about 2 s each) was a third of the suite's time.
    // Tests share no module state on purpose: each starts its own runtime, servers and tables.
    isolate: false,
    env: { LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
