import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { StepDeps } from '#core/deps.js';

const CLIENT = 'm2m-client-test-billing';
const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rotation:run-1';
const FUNCTION_NAME = 'StytchM2MRotator-StartRotationFunction-AbCdEf123456';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`;
// A task token rides in some events (AwaitConsumers'); it must never reach a log line.
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfake-task-token-for-the-invocation-test';

/** What the Lambda runtime passes a handler: a plain object, as Powertools' own tests use. */
function lambdaContext(awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: FUNCTION_ARN,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: '2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One JSON document written to stdout: a Powertools log line or an EMF metric document. */
type Emitted = Record<string, unknown> & {
  readonly _aws?: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
};

/**
 * A fresh container: the StartRotation handler as its Lambda entry builds it (the real step body,
 * the container's Powertools logger), over in-memory fakes instead of AWS and Stytch. Modules are
 * reloaded so the logger and the cold-start flag are this container's own.
 */
async function freshContainer() {
  vi.resetModules();
  const { lambdaHandler } = await import('#wiring/stepHandler.js');
  const { lambdaLogger } = await import('#adapters/powertools/logger.js');
  const { STEP_BODIES } = await import('#wiring/steps.js');
  const { fakeDeps } = await import('../../support/fakes.js');
  const fakes = fakeDeps({ [CLIENT]: { kind: 'm2m', policy: { expectedConsumers: ['billing-api'] } } });
  const deps: StepDeps = { ...fakes.deps, logger: lambdaLogger };
  const handler = lambdaHandler('StartRotation', STEP_BODIES.StartRotation, async () => deps);
  const state = (executionId = EXECUTION) => ({
    input: { clientId: CLIENT, trigger: 'schedule', requestedBy: 'test' },
    executionId,
    taskToken: TASK_TOKEN,
  });
  return { handler, state, issuedSecrets: fakes.stytch.issued };
}

describe('Function: lambdaHandler (Powertools around an invocation)', () => {
  // Powertools writes INFO lines and metrics to stdout, WARN lines to stderr.
  let stdout: MockInstance<typeof process.stdout.write>;
  let stderr: MockInstance<typeof process.stderr.write>;
  const written = () => [...stdout.mock.calls, ...stderr.mock.calls].map(([chunk]) => String(chunk));
  const emitted = (): Emitted[] =>
    written()
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Emitted);
  const logLines = () => emitted().filter((document) => document._aws === undefined);
  const coldStartMetrics = () => emitted().filter((document) => 'ColdStart' in document);

  beforeEach(() => {
    // What Lambda and RotatorFunction set; Powertools counts a cold start only on demand.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'stytch-m2m-rotator');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'StytchM2MRotator');
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    stdout.mockRestore();
    stderr.mockRestore();
    vi.unstubAllEnvs();
  });

  it('stamps the Lambda context on every log line of the invocation', async () => {
    // Prepare
    const { handler, state } = await freshContainer();

    // Act
    await handler(state(), lambdaContext('request-1'));

    // Assess
    const lines = logLines();
    expect(lines.map((line) => line.message)).toContain('Rotation started');
    for (const line of lines) {
      expect(line).toMatchObject({
        service: 'stytch-m2m-rotator',
        function_name: FUNCTION_NAME,
        function_arn: FUNCTION_ARN,
        function_request_id: 'request-1',
        function_memory_size: '256',
        cold_start: true,
      });
    }
  });

  it('marks the first invocation only as a cold start, with one ColdStart metric per container', async () => {
    // Prepare
    const { handler, state } = await freshContainer();
    await handler(state(), lambdaContext('request-1'));
    const afterFirst = coldStartMetrics();

    // Act: the same client again is refused (a rotation is running), which is logged too
    await expect(handler(state(`${EXECUTION}-2`), lambdaContext('request-2'))).rejects.toThrow();

    // Assess
    expect(afterFirst).toHaveLength(1);
    expect(afterFirst[0]?._aws?.CloudWatchMetrics).toEqual([
      {
        Namespace: 'StytchM2MRotator',
        Dimensions: [['service', 'function_name']],
        Metrics: [{ Name: 'ColdStart', Unit: 'Count' }],
      },
    ]);
    expect(afterFirst[0]).toMatchObject({
      service: 'stytch-m2m-rotator',
      function_name: FUNCTION_NAME,
      ColdStart: 1,
    });
    expect(coldStartMetrics()).toHaveLength(1);
    const second = logLines().filter((line) => line.function_request_id === 'request-2');
    expect(second.map((line) => line.message)).toContain('StartRotation failed');
    expect(second.every((line) => line.cold_start === false)).toBe(true);
  });

  it.each([
    ['no context (the tests)', undefined],
    [
      "the sandbox's context",
      { functionName: 'StartRotationFunction', executionArn: EXECUTION, stateName: 'StartRotation' },
    ],
  ])('runs the step and adds nothing to logs or metrics given %s', async (_case, context) => {
    // Prepare
    const { handler, state } = await freshContainer();

    // Act
    const output = await handler(state(), context);

    // Assess
    expect(output).toMatchObject({ rotation: { clientId: CLIENT } });
    const lines = logLines();
    expect(lines.map((line) => line.message)).toContain('Rotation started');
    for (const line of lines) {
      expect(line).not.toHaveProperty('function_request_id');
      expect(line).not.toHaveProperty('cold_start');
    }
    expect(coldStartMetrics()).toEqual([]);
  });

  it('writes no secret and not the event, even when Powertools is told to log events', async () => {
    // Prepare
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    const { handler, state, issuedSecrets } = await freshContainer();

    // Act
    await handler(state(), lambdaContext('request-1'));

    // Assess
    const text = written().join('');
    expect(text).toContain('request-1');
    expect(text).not.toContain(TASK_TOKEN);
    expect(issuedSecrets.length).toBeGreaterThan(1);
    for (const secret of issuedSecrets) expect(text).not.toContain(secret);
  });
});
