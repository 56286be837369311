import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `unit`: rules alone, with fakes for the ports (no Redis, no S3, no tesseract), in seconds.
 * `integration`: real Redis, a real S3-protocol server, real OCR, real processes and files.
 */
export default defineConfig({
  test: {
    // Two cores: integration files start processes and OCR workers; more parallelism only adds contention.
    maxWorkers: 2,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
