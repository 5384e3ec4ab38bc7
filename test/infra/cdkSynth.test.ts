import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** `cdk <args>` as a reader runs it: no credentials, no metadata service, no Docker on PATH. */
function cdk(args: readonly string[], cwd = repoRoot) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'CDK_DEFAULT_ACCOUNT'),
  );
  return spawnSync(process.execPath, [join(repoRoot, 'node_modules/aws-cdk/bin/cdk'), ...args], {
    cwd,
    env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
  });
}

describe('npx cdk synth', () => {
  it('synthesizes offline with no AWS credentials, bundles every handler without Docker, and passes cdk-nag', () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));

    // Act
    const result = cdk(['synth', '--quiet', '-c', 'config=config/rotator.sample.json', '--output', out]);

    // Assess
    expect(result.stderr).not.toMatch(/ERROR|AwsSolutions-/);
    // cdk.json sets the flags this aws-cdk-lib recommends (test/infra/deploySafety.test.ts).
    expect(result.stderr).not.toMatch(/feature flags are not configured/);
    expect(result.stderr).toMatch(/is the sample: it synthesizes, CloudFormation refuses to deploy it/);
    expect(result.status).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'StytchM2MRotator.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    // The 9 rotator functions, the GitHub webhook receiver, RotatorMonitoring's secret-age publisher
    // and the token revocation publisher.
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(
      12,
    );
    const bundles = readdirSync(out).filter((entry) => entry.startsWith('asset.'));
    expect(bundles).toHaveLength(12);
    for (const bundle of bundles) expect(readdirSync(join(out, bundle))).toContain('index.mjs');
  });

  it('without -c config=<path> and without config/rotator.json stops with one line saying how to pass one', () => {
    // Prepare: a directory with no config/ (the app reads config/rotator.json relative to it).
    const elsewhere = mkdtempSync(join(tmpdir(), 'cdk-noconfig-'));

    // Act
    const result = cdk(
      [
        'synth',
        '--quiet',
        '--app',
        `${join(repoRoot, 'node_modules/.bin/tsx')} ${join(repoRoot, 'bin/app.ts')}`,
      ],
      elsewhere,
    );

    // Assess: our one line, then the CDK CLI's own "Subprocess exited with error 2"; no stack trace.
    expect(result.status).not.toBe(0);
    const ours = result.stderr.split('\n').filter((line) => line.startsWith('cdk: '));
    expect(ours).toEqual([
      'cdk: no deployment config: pass -c config=<path>, or write config/rotator.json (start from config/rotator.sample.json, which synthesizes but deploys only with -c allowSample=true)',
    ]);
    expect(result.stderr).toMatch(/Subprocess exited with error 2/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
