import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:net';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../../support/waitFor.js';

const TRACE_ID = '1-5759e988-bd862e3fe1be46a994272793';
const FACADE_ID = '53995c3f42cd8ad8';

/** One X-Ray segment document as the SDK sends it to the daemon. */
interface SubsegmentDocument {
  readonly id: string;
  readonly name: string;
  readonly parent_id: string;
  readonly trace_id: string;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: { readonly operation?: string };
  readonly fault?: boolean;
  readonly cause?: { readonly exceptions: readonly { readonly type: string; readonly message: string }[] };
}

/** A port nothing listens on: the SDK call fails fast, and X-Ray still records it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The real X-Ray SDK in its Lambda mode (a facade segment from `_X_AMZN_TRACE_ID`, each closed
 * subsegment sent over UDP), with a UDP socket standing in for the X-Ray daemon. The environment
 * is what Lambda sets with active tracing; it is set before the SDK is first imported, which this
 * file does alone (vitest runs each file in its own worker).
 */
describe('Function: lambdaHandler (X-Ray, as in Lambda with active tracing)', () => {
  let daemon: Socket;
  const received: SubsegmentDocument[] = [];

  beforeAll(async () => {
    daemon = createSocket('udp4');
    daemon.on('message', (message) => {
      // Each datagram is a header line then one document.
      const [, body] = message.toString('utf8').split('\n');
      if (body !== undefined) received.push(JSON.parse(body) as SubsegmentDocument);
    });
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    vi.stubEnv('AWS_XRAY_DAEMON_ADDRESS', `127.0.0.1:${daemon.address().port}`);
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');
    vi.stubEnv('LAMBDA_TASK_ROOT', '/var/task');
    vi.stubEnv('_X_AMZN_TRACE_ID', `Root=${TRACE_ID};Parent=${FACADE_ID};Sampled=1`);
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    // Patching the worker's global http(s) is not this test's business.
    vi.stubEnv('POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS', 'false');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'stytch-m2m-rotator');
  });

  afterAll(() => {
    daemon.close();
    vi.unstubAllEnvs();
  });

  it('runs each invocation in a `## <step>` subsegment of the function, with its AWS calls inside', async () => {
    // Prepare
    const { lambdaHandler } = await import('#wiring/stepHandler.js');
    const { traced } = await import('#adapters/powertools/tracer.js');
    const { fakeDeps } = await import('../../support/fakes.js');
    const { RotatorError } = await import('#core/errors.js');
    const secrets = traced(
      new SecretsManagerClient({ endpoint: `http://127.0.0.1:${await closedPort()}`, maxAttempts: 1 }),
    );
    const { deps } = fakeDeps({});
    const start = lambdaHandler(
      'StartRotation',
      async () => {
        await secrets.send(new ListSecretsCommand({})).catch(() => undefined);
        return {};
      },
      async () => deps,
    );
    const complete = lambdaHandler(
      'CompleteRotation',
      async () => {
        throw new RotatorError('Stytch answered 503', { retryable: true });
      },
      async () => deps,
    );

    // Act
    await start({});
    await expect(complete({})).rejects.toThrow('Stytch answered 503');

    // Assess
    const [startSegment, completeSegment, call] = await waitFor(async () => {
      const byName = (name: string) => received.find((document) => document.name === name);
      const found = [byName('## StartRotation'), byName('## CompleteRotation'), byName('SecretsManager')];
      return found.every((document) => document !== undefined) ? found : undefined;
    }, 4_000);
    expect(startSegment).toMatchObject({
      trace_id: TRACE_ID,
      parent_id: FACADE_ID,
      annotations: { ColdStart: true, Service: 'stytch-m2m-rotator' },
    });
    expect(startSegment).not.toHaveProperty('fault');
    expect(call).toMatchObject({ parent_id: startSegment?.id, aws: { operation: 'ListSecrets' } });
    expect(completeSegment).toMatchObject({
      parent_id: FACADE_ID,
      annotations: { ColdStart: false },
      fault: true,
    });
    // What the state machine sees is what the trace records: the retryable name.
    expect(completeSegment?.cause?.exceptions[0]).toMatchObject({
      type: 'TransientError',
      message: 'RotatorError: Stytch answered 503',
    });
  });
});
