import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('npx cdk synth', () => {
  it('synthesizes offline with no AWS credentials, bundles every handler without Docker, and passes cdk-nag', () => {
    // Prepare: no credentials, no metadata service, no Docker on PATH.
    const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'CDK_DEFAULT_ACCOUNT'),
    );

    // Act
    const result = spawnSync(
      process.execPath,
      [join(repoRoot, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--output', out],
      { cwd: repoRoot, env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' }, encoding: 'utf8' },
    );

    // Assess
    expect(result.stderr).not.toMatch(/ERROR|AwsSolutions-/);
    expect(result.status).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'StytchM2MRotator.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    // The 9 rotator functions, the GitHub webhook receiver and RotatorMonitoring's SecretAgeDays publisher.
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(
      11,
    );
    const bundles = readdirSync(out).filter((entry) => entry.startsWith('asset.'));
    expect(bundles).toHaveLength(11);
    for (const bundle of bundles) expect(readdirSync(join(out, bundle))).toContain('index.mjs');
  });
});
