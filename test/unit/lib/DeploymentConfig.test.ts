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
    expect(config.secretPrefix).toBe('stytch/m2m');
    expect(config.clients.map((c) => c.kind)).toEqual(['m2m', 'm2m', 'm2m', 'm2m', 'connected_app']);
    expect(config.clients[3]?.schedule?.timeZone).toBe('UTC');
  });

  it('names the file and the reason when it is not JSON', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'bad.json');
    writeFileSync(path, '{ "clients": [ }');

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
      clients: [
        { clientId: 'a', schedule: { expression: 'rate(1 days)' } },
        {
          clientId: 'b',
          kind: 'saml',
          schedule: { expression: 'cron(0 3 * * * *)', timeZone: 'Mars/Olympus' },
        },
        { clientId: 'a', policy: { expectedConsumers: ['x', 'x'] } },
      ],
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
      'clients[0].schedule.expression: use the singular unit for 1: rate(1 day)',
      expect.stringMatching(/^clients\[1\]\.kind: /),
      'clients[1].schedule.expression: cron needs "?" in exactly one of day-of-month and day-of-week',
      'clients[1].schedule.timeZone: unknown time zone "Mars/Olympus"',
      'clients[2].policy.expectedConsumers: must not repeat a consumer',
    ]);
  });

  it('rejects a client managed twice, naming the first', () => {
    // Act & Assess
    expect(() =>
      parseDeploymentConfig({
        stytch: { projectCredentialsSecretArn: ARN },
        clients: [{ clientId: 'a' }, { clientId: 'a' }],
      }),
    ).toThrow(/clients\[1\]\.clientId: "a" is already managed at clients\[0\]/);
  });

  it('rejects an empty client list and unknown keys', () => {
    expect(() =>
      parseDeploymentConfig({ stytch: { projectCredentialsSecretArn: ARN }, clients: [], extra: 1 }),
    ).toThrow(/clients: must list at least one managed client[\s\S]*extra/);
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
