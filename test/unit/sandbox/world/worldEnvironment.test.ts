import { describe, expect, it } from 'vitest';
import { bindGitHubWebhook, stepDepsFromEnvironment } from '#sandbox/world/handlerBinding.js';
import { githubWebhookEnvironment, stepFunctionEnvironment } from '#sandbox/world/worldEnvironment.js';
import { WORLD_RESOURCE_NAMES } from '#sandbox/world/worldResources.js';
import { parseDeploymentConfig } from '../../../../lib/config/DeploymentConfig.js';
import { RecordingLogger } from '../../../support/fakes.js';

const CONFIG = parseDeploymentConfig({
  stytch: {
    projectCredentialsSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbCdEf',
  },
  secretPrefix: 'stytch/m2m',
});
/** A world without its state machine. */
const WORLD = {
  awsEndpoint: 'http://127.0.0.1:4566',
  accessKey: { accessKeyId: 'AKIAFUNCTIONS', secretAccessKey: 'functions-secret-key' },
  names: WORLD_RESOURCE_NAMES,
  config: CONFIG,
  stytchUrl: 'http://127.0.0.1:9000',
} as const;

describe('The world’s environment (sandbox/world/worldEnvironment.ts)', () => {
  it('gives the step functions every variable the template sets, naming the world’s resources', () => {
    // Act
    const environment = stepFunctionEnvironment({
      ...WORLD,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:StytchM2MRotator',
    });

    // Assess
    expect(environment).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAFUNCTIONS',
      AWS_SECRET_ACCESS_KEY: 'functions-secret-key',
      ROTATOR_TABLE_NAME: 'stytch-m2m-rotator-ledger',
      ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
      ROTATOR_SECRET_PREFIX: 'stytch/m2m',
      ROTATOR_STYTCH_CREDENTIALS_SECRET_ID: 'stytch/project-credentials',
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'stytch-m2m-rotator/fingerprint-key',
      ROTATOR_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:StytchM2MRotator',
      ROTATOR_STYTCH_BASE_URL: 'http://127.0.0.1:9000',
    });
    // No client list: the functions read the clients from the registry (the ledger table).
    expect(environment).not.toHaveProperty('ROTATOR_CLIENTS');
  });

  it('leaves the state machine out for a world that starts executions itself, and the functions accept it', () => {
    // Prepare
    const environment = stepFunctionEnvironment(WORLD);

    // Act: the handlers' own reader validates it
    const build = () => stepDepsFromEnvironment(environment, new RecordingLogger());

    // Assess
    expect(environment).not.toHaveProperty('ROTATOR_STATE_MACHINE_ARN');
    expect(build).not.toThrow();
  });

  it('gives the GitHub webhook the variables its reader requires', () => {
    // Prepare
    const environment = githubWebhookEnvironment({
      names: WORLD_RESOURCE_NAMES,
      webhookSecretId: 'webhook-secret',
      tokenSecretId: 'token-secret',
      githubApiUrl: 'http://127.0.0.1:9100',
    });

    // Act
    const bind = () => bindGitHubWebhook(environment, new RecordingLogger(), {} as never);
    const withoutTable = () =>
      bindGitHubWebhook(
        { ...environment, ROTATOR_TABLE_NAME: undefined },
        new RecordingLogger(),
        {} as never,
      );

    // Assess
    expect(environment).toEqual({
      ROTATOR_TABLE_NAME: 'stytch-m2m-rotator-ledger',
      ROTATOR_EVENT_BUS_NAME: 'stytch-m2m-rotator',
      ROTATOR_FINGERPRINT_KEY_SECRET_ID: 'stytch-m2m-rotator/fingerprint-key',
      ROTATOR_GITHUB_WEBHOOK_SECRET_ID: 'webhook-secret',
      ROTATOR_GITHUB_TOKEN_SECRET_ID: 'token-secret',
      ROTATOR_GITHUB_API_URL: 'http://127.0.0.1:9100',
    });
    expect(bind).not.toThrow();
    expect(withoutTable).toThrow(/ROTATOR_TABLE_NAME/);
  });
});
