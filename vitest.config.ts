import { defineConfig } from 'vitest/config';

/**
 * Two projects over the same settings. Unit, integration and CDK files share their worker's
 * module cache from file to file (`isolate: false`): importing the app and the AWS SDK once per
 * worker instead of once per file (about 2 s each) was a third of the suite's time. Fault,
 * end-to-end and browser files cut connections and kill processes on purpose, so each runs in a
 * fresh process (`isolate: true`): whatever an emulator is still doing after its file ends dies
 * with that file instead of surfacing in the next one.
 */
const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  env: { LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    // Two cores: more workers only contend.
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: 'shared-cache', include: ['test/{unit,integration,cdk}/**/*.test.ts'], isolate: false } },
      {
        test: {
          ...shared,
          name: 'own-process',
          include: ['test/{faults,e2e,browser}/**/*.test.ts'],
          isolate: true,
          // Installs Debian's Chromium for the browser tests when it is missing (or says how).
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
