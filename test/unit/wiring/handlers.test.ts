import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findImports } from '../../support/importGraph.js';

const LAMBDAS = fileURLToPath(new URL('../../../lambdas/', import.meta.url));
// Kept only while their importers move to lambdas/wiring (issue 14); they deploy nothing.
const TRANSITION_SHIMS = new Set(['steps.ts']);

/** The deployed entries: every file directly in lambdas/handlers/ (lib points at them by name). */
const ENTRY_FILES = readdirSync(`${LAMBDAS}handlers`, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !TRANSITION_SHIMS.has(entry.name))
  .map((entry) => entry.name);

/** Every `.ts` file under `folder` of lambdas/, as a path relative to lambdas/. */
function sourcesUnder(folder: string): string[] {
  return readdirSync(`${LAMBDAS}${folder}`, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => `${folder}/${path}`);
}

describe('Folder: lambdas/handlers (thin entries)', () => {
  it('holds the entry of every deployed function', () => {
    // Assess: the twelve functions lib deploys, each by its file name
    expect(ENTRY_FILES.sort()).toEqual([
      'awaitConsumers.ts',
      'cancelRotation.ts',
      'completeRotation.ts',
      'executionReconciler.ts',
      'githubWebhook.ts',
      'healthAggregator.ts',
      'leakIntake.ts',
      'publishPending.ts',
      'recordFailure.ts',
      'secretAgePublisher.ts',
      'startRotation.ts',
      'tokenRevocationPublisher.ts',
    ]);
  });

  it.each(ENTRY_FILES)(
    '%s exports a `handler` function, and importing it reads no environment',
    async (file) => {
      // Act: no ROTATOR_* variable is set here; an entry that read one at import would throw
      const entry = (await import(`${LAMBDAS}handlers/${file}`)) as { handler?: unknown };

      // Assess
      expect(typeof entry.handler).toBe('function');
    },
  );

  it('keeps every file at 40 lines or fewer: the wiring assembles, an entry only binds', () => {
    // Act
    const long = sourcesUnder('handlers')
      .map((path) => ({
        path,
        lines: readFileSync(`${LAMBDAS}${path}`, 'utf8').trimEnd().split('\n').length,
      }))
      .filter(({ lines }) => lines > 40);

    // Assess
    expect(long).toEqual([]);
  });
});

describe('Folders: lambdas/handlers and lambdas/wiring', () => {
  it('import no AWS SDK: clients are built by the adapters (lambdas/adapters/aws/clients.ts)', () => {
    // Act
    const sdkImports = [...sourcesUnder('handlers'), ...sourcesUnder('wiring')].flatMap((path) =>
      findImports(readFileSync(`${LAMBDAS}${path}`, 'utf8'))
        .filter(({ specifier }) => specifier.startsWith('@aws-sdk/'))
        .map(({ line, specifier }) => `${path}:${line} ${specifier}`),
    );

    // Assess
    expect(sdkImports).toEqual([]);
  });
});
