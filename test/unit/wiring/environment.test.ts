import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GITHUB_API_URL,
  ENV,
  EnvironmentError,
  githubWebhookFunctionEnvironment,
  readGitHubWebhookEnv,
  readRotatorEnv,
  readSecretAgeEnv,
  SECRET_AGE_ENV,
  secretAgePublisherEnvironment,
  workflowFunctionEnvironment,
} from '#wiring/environment.js';

const GOOD_ENV = {
  ROTATOR_TABLE_NAME: 'ledger',
  ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
  ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbCdEf',
  ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fp-AbCdEf',
};

describe('Function: readRotatorEnv', () => {
  it('reads and validates the environment, with defaults', () => {
    // Act
    const env = readRotatorEnv(GOOD_ENV);

    // Assess
    expect(env.ROTATOR_SECRET_PREFIX).toBe('stytch/m2m');
    expect(env.ROTATOR_STYTCH_BASE_URL).toBeUndefined();
    expect(env.ROTATOR_STYTCH_REQUESTS_PER_SECOND).toBe(20);
    expect(env.ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND).toBe(25);
  });

  it('reads the shared budgets as whole numbers, and refuses anything else by name', () => {
    expect(
      readRotatorEnv({
        ...GOOD_ENV,
        ROTATOR_STYTCH_REQUESTS_PER_SECOND: '100',
        ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND: '40',
      }),
    ).toMatchObject({
      ROTATOR_STYTCH_REQUESTS_PER_SECOND: 100,
      ROTATOR_SECRETS_MANAGER_WRITES_PER_SECOND: 40,
    });
    for (const bad of ['0', '1.5', '-3', 'many', '']) {
      expect(() => readRotatorEnv({ ...GOOD_ENV, ROTATOR_STYTCH_REQUESTS_PER_SECOND: bad })).toThrow(
        'ROTATOR_STYTCH_REQUESTS_PER_SECOND: must be a whole number from 1 to 999999',
      );
    }
  });

  it('names every missing or malformed variable at once', () => {
    // Act
    let error: unknown;
    try {
      readRotatorEnv({ ROTATOR_SECRET_PREFIX: 'trailing/', ROTATOR_STYTCH_BASE_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues.join('\n');
    expect(issues).toMatch(/ROTATOR_TABLE_NAME/);
    expect(issues).toMatch(/ROTATOR_EVENT_BUS_NAME/);
    expect(issues).toMatch(/ROTATOR_STYTCH_CREDENTIALS_SECRET_ID/);
    expect(issues).toMatch(/ROTATOR_SECRET_PREFIX/);
    expect(issues).toMatch(/ROTATOR_STYTCH_BASE_URL/);
  });

  it('takes no client list: the clients are registry data, whatever a stale environment still holds', () => {
    // Act
    const env = readRotatorEnv({ ...GOOD_ENV, ROTATOR_CLIENTS: '{not json' });

    // Assess
    expect(env).not.toHaveProperty('ROTATOR_CLIENTS');
  });
});

describe('Constant: ENV', () => {
  it('names each variable once, under the ROTATOR_ prefix', () => {
    // Act
    const names = Object.values(ENV);

    // Assess
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^ROTATOR_[A-Z_]+$/);
    expect(ENV.tableName).toBe('ROTATOR_TABLE_NAME');
    expect(names).not.toContain('ROTATOR_CLIENTS');
  });
});

describe('Function: workflowFunctionEnvironment', () => {
  const VALUES = {
    tableName: 'ledger',
    eventBusName: 'stytch-m2m-rotator',
    secretPrefix: 'team/stytch',
    stytchCredentialsSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbCdEf',
    fingerprintKeySecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fp-AbCdEf',
  };

  it('writes what readRotatorEnv reads, leaving out what is not given', () => {
    // Act
    const environment = workflowFunctionEnvironment(VALUES);
    const env = readRotatorEnv(environment);

    // Assess
    expect(Object.keys(environment).sort()).toEqual(
      [
        ENV.tableName,
        ENV.eventBusName,
        ENV.secretPrefix,
        ENV.stytchCredentialsSecretId,
        ENV.fingerprintKeySecretId,
      ].sort(),
    );
    expect(env).toMatchObject({
      ROTATOR_TABLE_NAME: 'ledger',
      ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
      ROTATOR_SECRET_PREFIX: 'team/stytch',
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: VALUES.stytchCredentialsSecretId,
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: VALUES.fingerprintKeySecretId,
    });
    expect(env.ROTATOR_STATE_MACHINE_ARN).toBeUndefined();
    expect(env.ROTATOR_STYTCH_BASE_URL).toBeUndefined();
  });

  it('adds the state machine and the Stytch base URL when given', () => {
    // Prepare
    const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:rotation';

    // Act
    const env = readRotatorEnv(
      workflowFunctionEnvironment({ ...VALUES, stateMachineArn, stytchBaseUrl: 'http://127.0.0.1:4010' }),
    );

    // Assess
    expect(env.ROTATOR_STATE_MACHINE_ARN).toBe(stateMachineArn);
    expect(env.ROTATOR_STYTCH_BASE_URL).toBe('http://127.0.0.1:4010');
  });

  it('passes unresolved CDK tokens through as they are (lib validates the config, not the tokens)', () => {
    // Prepare
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of an unresolved CDK token, not a template
    const token = '${Token[TOKEN.123]}';

    // Act
    const environment = workflowFunctionEnvironment({ ...VALUES, tableName: token, stateMachineArn: token });

    // Assess
    expect(environment[ENV.tableName]).toBe(token);
    expect(environment[ENV.stateMachineArn]).toBe(token);
  });
});

describe('Function: githubWebhookFunctionEnvironment', () => {
  const VALUES = {
    tableName: 'ledger',
    eventBusName: 'stytch-m2m-rotator',
    fingerprintKeySecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fp-AbCdEf',
    githubWebhookSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf',
    githubTokenSecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token-AbCdEf',
  };

  it("writes what readGitHubWebhookEnv reads, with GitHub's public API by default", () => {
    // Act
    const env = readGitHubWebhookEnv(githubWebhookFunctionEnvironment(VALUES));

    // Assess
    expect(env).toEqual({
      ROTATOR_TABLE_NAME: 'ledger',
      ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: VALUES.fingerprintKeySecretId,
      ROTATOR_GITHUB_WEBHOOK_SECRET_ID: VALUES.githubWebhookSecretId,
      ROTATOR_GITHUB_TOKEN_SECRET_ID: VALUES.githubTokenSecretId,
      ROTATOR_GITHUB_API_URL: DEFAULT_GITHUB_API_URL,
    });
  });

  it('writes a GitHub Enterprise API URL when given', () => {
    // Act
    const env = readGitHubWebhookEnv(
      githubWebhookFunctionEnvironment({ ...VALUES, githubApiUrl: 'https://github.example.com/api/v3' }),
    );

    // Assess
    expect(env.ROTATOR_GITHUB_API_URL).toBe('https://github.example.com/api/v3');
  });
});

describe('Function: secretAgePublisherEnvironment', () => {
  it('writes what readSecretAgeEnv reads: the ledger (the registry), the prefix, the margins and the Stytch credentials, no client list', () => {
    // Act
    const environment = secretAgePublisherEnvironment({
      tableName: 'ledger',
      secretPrefix: 'team/stytch',
      marginDays: 2,
      defaultPeriodDays: 90,
      stytchCredentialsSecretId: 'stytch/project',
    });

    // Assess
    expect(Object.keys(environment).sort()).toEqual(
      [
        ENV.tableName,
        ENV.secretPrefix,
        SECRET_AGE_ENV.marginDays,
        SECRET_AGE_ENV.defaultPeriodDays,
        ENV.stytchCredentialsSecretId,
      ].sort(),
    );
    expect(readSecretAgeEnv(environment)).toEqual({
      ROTATOR_TABLE_NAME: 'ledger',
      ROTATOR_SECRET_PREFIX: 'team/stytch',
      ROTATOR_SECRET_AGE_MARGIN_DAYS: 2,
      ROTATOR_DEFAULT_ROTATION_PERIOD_DAYS: 90,
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: 'stytch/project',
      ROTATOR_STYTCH_REQUESTS_PER_SECOND: 20,
    });
  });
});

describe('Function: readGitHubWebhookEnv and readSecretAgeEnv on an empty environment', () => {
  it.each([
    ['readGitHubWebhookEnv', () => readGitHubWebhookEnv({}), 5],
    ['readSecretAgeEnv', () => readSecretAgeEnv({}), 4],
  ] as const)('%s throws one EnvironmentError listing every missing variable', (_name, read, missing) => {
    // Act
    let error: unknown;
    try {
      read();
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(EnvironmentError);
    const issues = (error as EnvironmentError).issues;
    expect(issues).toHaveLength(missing);
    expect((error as EnvironmentError).message).toContain(issues.join('; '));
  });
});
