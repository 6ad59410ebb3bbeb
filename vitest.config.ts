import { defineConfig } from 'vitest/config';

// Tests import workspace packages by name and run on their TypeScript sources: every package's
// exports map has an '@onnx-audit/source' condition pointing at its source entry, so no build of
// the TS is needed first (the native addon, a compiled artefact, is).
const conditions = ['@onnx-audit/source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@onnx-audit/source'] } },
  test: {
    include: ['{native,packages,apps,tools}/*/test/**/*.test.ts', 'native/test/**/*.test.ts'],
    testTimeout: 60_000,
    // The JSON report is what .ci/run counts from.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    pool: 'forks',
  },
});
