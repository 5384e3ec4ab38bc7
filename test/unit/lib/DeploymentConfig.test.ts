import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scheduleExpressionProblem } from '../../../lambdas/core/scheduleExpression.js';
import {
  DeploymentConfigError,
  loadDeploymentConfig,
  parseDeploymentConfig,
} from '../../../lib/config/DeploymentConfig.js';

const samplePath = fileURLToPath(new URL('../../../config/rotator.sample.json', import.meta.url));
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stytch/creds-AbCdEf';

describe('Function: loadDeploymentConfig', () => {
  it('loads the sample config with defaults filled in', () => {
    // Act
    const config = loadDeploymentConfig(samplePath);

    // Assess
    expect(config).toEqual({
      sample: true,
      stytch: {
        projectCredentialsSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:/),
        requestsPerSecond: 20,
      },
      secretPrefix: 'stytch/m2m',
      secretsManagerWritesPerSecond: 25,
      leakScanners: [expect.objectContaining({ source: 'example.secret-scanner' })],
      crossAccountConsumerAccounts: [],
    });
  });

  it('names the file and the reason when it is not JSON', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'bad.json');
    writeFileSync(path, '{ "stytch": [ }');

    // Act & Assess
    expect(() => loadDeploymentConfig(path)).toThrow(/bad\.json[\s\S]*is not valid JSON/);
  });

  it('names the file when it cannot be read', () => {
    expect(() => loadDeploymentConfig('/nonexistent/rotator.json')).toThrow(/rotator\.json[\s\S]*ENOENT/);
  });
});

describe('Function: parseDeploymentConfig', () => {
  it('reports every problem at once, each with its path', () => {
    // Prepare
    const config = {
      stytch: { projectCredentialsSecretArn: 'not-an-arn' },
      secretPrefix: 'trailing/',
      leakScanners: [{ source: 'aws.fake' }, { source: 'ok.scanner' }, { source: 'ok.scanner' }],
    };

    // Act
    let error: unknown;
    try {
      parseDeploymentConfig(config, 'test.json');
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(DeploymentConfigError);
    expect((error as DeploymentConfigError).issues).toEqual([
      'stytch.projectCredentialsSecretArn: must be a Secrets Manager secret ARN',
      expect.stringMatching(/^secretPrefix: /),
      'leakScanners[0].source: must not start with "aws." (reserved)',
      'leakScanners[2].source: source "ok.scanner" is already listed at leakScanners[1]',
    ]);
  });

  it('refuses the clients of an older config with the command that moves them, and unknown keys', () => {
    // Act
    let error: unknown;
    try {
      parseDeploymentConfig({
        stytch: { projectCredentialsSecretArn: ARN },
        clients: [{ clientId: 'a' }],
        extra: 1,
      });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect((error as DeploymentConfigError).issues).toEqual([
      'clients: clients are no longer part of the deployment config: move them to the registry with ' +
        '`rotator apply -f <this file>` (docs/fleet.md), then delete this key',
      'extra: unknown key (not a deployment config field)',
    ]);
  });

  it('returns a config without clients: the template cannot hold any', () => {
    // Act
    const config = parseDeploymentConfig({ stytch: { projectCredentialsSecretArn: ARN } });

    // Assess
    expect(config).not.toHaveProperty('clients');
  });
});

describe('Function: scheduleExpressionProblem', () => {
  it.each([
    'rate(1 day)',
    'rate(30 days)',
    'rate(5 minutes)',
    'cron(0 3 1 * ? *)',
    'cron(0 3 ? * MON-FRI *)',
    'cron(*/15 * * * ? *)',
  ])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });

  it.each([
    ['every day', /must be rate/],
    ['rate(0 days)', /at least 1/],
    ['rate(2 day)', /plural/],
    ['rate(1 week)', /must be rate/],
    ['cron(0 3 * * ?)', /6 fields/],
    ['cron(61 3 ? * * *)', /field 1/],
    ['cron(0 3 ? * ? *)', /exactly one/],
  ])('rejects %s', (expression, message) => {
    expect(scheduleExpressionProblem(expression)).toMatch(message);
  });
});
