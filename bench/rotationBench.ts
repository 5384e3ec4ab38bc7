import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { EVENT_SOURCES } from '#core/events.js';
import type { AwsCall } from '#sandbox/gateway/index.js';
import { awsClientConfig, Sandbox } from '#sandbox/world/Sandbox.js';
import { BENCH_CLIENT, type BenchContext, type BenchResult, benchConfig } from './harness.js';

/** Measured rotations (after one that warms every function up). */
const ROUNDS = 5;
/** Each needed round trip is timed this many times; the floor takes each one's median. */
const FLOOR_SAMPLES = 7;
/** Issue 17's targets. */
export const MAX_AWS_CALLS = 12;
export const MAX_RATIO = 2;

/** The figures of one rotation. */
interface RotationFigures {
  readonly awsCalls: number;
  readonly stytchCalls: number;
  readonly systemMs: number;
  readonly transitions: number;
  /** `service.action` → count, for finding the calls a rotation does not need. */
  readonly calls: Readonly<Record<string, number>>;
}

/**
 * `npm run bench -- rotation`: what one rotation costs. A manual rotation of the sample config's
 * `m2m-client-test-billing-worker`, with no expected consumers (it completes as soon as its pending
 * secret is stored and announced: the consumers' own calls are theirs), run through the sandbox.
 * Counted: every AWS call the rotator's functions sign (at the gateway, by their access key) and
 * every request the Stytch emulator answers, from StartExecution to the execution's end; the
 * system time is the execution's duration. The floor is measured in the same run: the round trips
 * a rotation cannot do without, each timed {@link FLOOR_SAMPLES} times on scratch resources (its
 * median), summed.
 */
export async function rotationBench(context: BenchContext): Promise<BenchResult> {
  context.say('starting the sandbox: moto_server, the Stytch emulator, the state machine from cdk synth');
  const sandbox = await Sandbox.start({ config: benchConfig([]), say: context.say });
  try {
    const clientId = sandbox.clientIdMap.get(BENCH_CLIENT) ?? BENCH_CLIENT;
    const emulator = sandbox.emulator;
    if (emulator === undefined) throw new Error('the rotation benchmark needs the Stytch emulator');
    const rotate = async (): Promise<RotationFigures> => {
      const calls: AwsCall[] = [];
      const stop = sandbox.observeAwsCalls((call) => {
        if (call.accessKeyId === sandbox.functionsAccessKeyId) calls.push(call);
      });
      emulator.clearRequestLog();
      try {
        const { executionArn = '' } = await sandbox.aws.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: sandbox.executor.stateMachineArn,
            input: JSON.stringify({ clientId, trigger: 'manual', reason: 'bench', requestedBy: 'bench' }),
          }),
        );
        const description = await sandbox.executor.waitForExecution(executionArn);
        await sandbox.settle();
        if (description.status !== 'SUCCEEDED') throw new Error(`the rotation ended ${description.status}`);
        const history = sandbox.executor.getExecutionHistory(executionArn).events;
        const byAction: Record<string, number> = {};
        for (const call of calls)
          byAction[`${call.service}.${call.action}`] = (byAction[`${call.service}.${call.action}`] ?? 0) + 1;
        return {
          awsCalls: calls.length,
          stytchCalls: emulator.requestLog().length,
          systemMs: Math.round((description.stopDate?.getTime() ?? 0) - description.startDate.getTime()),
          transitions: history.filter((event) => event.type.endsWith('StateEntered')).length,
          calls: byAction,
        };
      } finally {
        stop();
      }
    };

    context.say('one rotation to warm every function up (not counted)');
    await rotate();
    const rounds: RotationFigures[] = [];
    for (let i = 1; i <= ROUNDS; i += 1) {
      context.signal.throwIfAborted();
      const figures = await rotate();
      rounds.push(figures);
      context.say(
        `rotation ${i}/${ROUNDS}: ${figures.awsCalls} AWS calls, ${figures.stytchCalls} Stytch calls, ${figures.systemMs} ms, ${figures.transitions} transitions`,
      );
    }
    context.say(`the floor: each needed round trip timed ${FLOOR_SAMPLES} times`);
    const floor = await measureFloor(sandbox);
    const median = (values: readonly number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const awsCalls = median(rounds.map((round) => round.awsCalls));
    const stytchCalls = median(rounds.map((round) => round.stytchCalls));
    const systemMs = median(rounds.map((round) => round.systemMs));
    const floorMs = Math.round(floor.totalMs);
    const ratio = Math.round((systemMs / Math.max(floorMs, 1)) * 10) / 10;
    const transitions = median(rounds.map((round) => round.transitions));
    const document = {
      awsCalls,
      stytchCalls,
      systemMs,
      floorMs,
      ratio,
      transitions,
      rounds: ROUNDS,
      calls: rounds.at(-1)?.calls ?? {},
      floor: floor.steps,
    };
    return {
      document,
      rows: [
        [
          'AWS calls per rotation',
          `${awsCalls} (target ≤ ${MAX_AWS_CALLS}; floor ${floor.steps.filter((step) => step.kind === 'aws').length})`,
        ],
        [
          'Stytch calls per rotation',
          `${stytchCalls} (floor ${floor.steps.filter((step) => step.kind === 'stytch').length})`,
        ],
        [
          'system time (median)',
          `${systemMs} ms, against a floor of ${floorMs} ms: ${ratio}× (target ≤ ${MAX_RATIO})`,
        ],
        ['state transitions', String(transitions)],
        [
          'calls of the last rotation',
          Object.entries(document.calls)
            .map(([name, count]) => `${name} ${count}`)
            .join(', '),
        ],
      ],
      targets: [
        {
          name: `at most ${MAX_AWS_CALLS} AWS calls per rotation`,
          ok: awsCalls <= MAX_AWS_CALLS,
          detail: `${awsCalls}`,
        },
        { name: `system time at most ${MAX_RATIO}× the floor`, ok: ratio <= MAX_RATIO, detail: `${ratio}×` },
      ],
    };
  } finally {
    context.say('stopping the sandbox');
    await sandbox.stop();
  }
}

/** One needed round trip: what a rotation must do, timed on scratch resources. */
interface FloorStep {
  readonly kind: 'aws' | 'stytch';
  readonly name: string;
  readonly medianMs: number;
}

/**
 * The round trips no rotation can do without, each timed on scratch resources through the same
 * endpoints the functions use (the gateway, the emulator), with the functions' key:
 * AWS (6): take the lock with the rotation record (a conditional PutItem), store AWSPENDING
 * (PutSecretValue), announce Rotation Pending (PutEvents), move AWSCURRENT
 * (UpdateSecretVersionStage), record the completion and free the lock (UpdateItem), announce
 * Rotation Completed (PutEvents).
 * Stytch (5): rotate/start, a token with the new secret (self-test), the JWKS it verifies against,
 * rotate (complete), a token with the old secret (refused: it is dead).
 */
async function measureFloor(sandbox: Sandbox): Promise<{ totalMs: number; steps: FloorStep[] }> {
  const config = awsClientConfig(sandbox.awsEndpoint, sandbox.functionsAccessKey);
  const dynamo = new DynamoDBClient(config);
  const secrets = new SecretsManagerClient(config);
  const events = new EventBridgeClient(config);
  const stytch = sandbox.stytchClient;
  const steps: FloorStep[] = [];
  const time = async (
    kind: FloorStep['kind'],
    name: string,
    call: (i: number) => Promise<unknown>,
  ): Promise<void> => {
    const samples: number[] = [];
    for (let i = 0; i < FLOOR_SAMPLES; i += 1) {
      const started = performance.now();
      await call(i);
      samples.push(performance.now() - started);
    }
    const sorted = samples.sort((a, b) => a - b);
    steps.push({ kind, name, medianMs: Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10 });
  };
  const scratch = `bench-floor-${randomUUID()}`;
  try {
    const table = sandbox.tableName;
    await time('aws', 'DynamoDB PutItem (lock + record, conditional)', (i) =>
      dynamo
        .send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: `${scratch}#${i}` }, sk: { S: 'lock' }, owner: { S: 'bench' } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((error: unknown) => {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }),
    );
    const { VersionId: firstVersion = '' } = await secrets.send(
      new CreateSecretCommand({ Name: `stytch/bench/${scratch}`, SecretString: '{"v":0}' }),
    );
    const versions: string[] = [];
    await time('aws', 'Secrets Manager PutSecretValue (AWSPENDING)', async (i) => {
      const { VersionId = '' } = await secrets.send(
        new PutSecretValueCommand({
          SecretId: `stytch/bench/${scratch}`,
          SecretString: `{"v":${i + 1}}`,
          VersionStages: ['AWSPENDING'],
        }),
      );
      versions.push(VersionId);
    });
    const putEvent = (detailType: string) => () =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: sandbox.eventBusName,
              Source: EVENT_SOURCES.rotator,
              DetailType: `${detailType} (bench)`,
              Detail: JSON.stringify({ clientId: scratch }),
            },
          ],
        }),
      );
    await time('aws', 'EventBridge PutEvents (Rotation Pending)', putEvent('Rotation Pending'));
    let currentVersion = firstVersion;
    await time('aws', 'Secrets Manager UpdateSecretVersionStage (AWSCURRENT)', async (i) => {
      const next = versions[i] ?? '';
      await secrets.send(
        new UpdateSecretVersionStageCommand({
          SecretId: `stytch/bench/${scratch}`,
          VersionStage: 'AWSCURRENT',
          RemoveFromVersionId: currentVersion,
          MoveToVersionId: next,
        }),
      );
      currentVersion = next;
    });
    await time('aws', 'DynamoDB UpdateItem (completion, lock freed)', (i) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: `${scratch}#${i}` }, sk: { S: 'lock' } },
          UpdateExpression: 'SET #state = :done REMOVE #owner',
          ExpressionAttributeNames: { '#state': 'state', '#owner': 'owner' },
          ExpressionAttributeValues: { ':done': { S: 'completed' } },
        }),
      ),
    );
    await time('aws', 'EventBridge PutEvents (Rotation Completed)', putEvent('Rotation Completed'));

    // Stytch: a scratch client of its own, rotated FLOOR_SAMPLES times, each step of a rotation timed.
    const created = await stytch.m2m.create({ clientName: scratch, scopes: ['read:bench'] });
    const client = created.client.clientId;
    const jwksUrl = `${sandbox.stytch.url}/v1/sessions/jwks/${encodeURIComponent(sandbox.stytch.projectId)}`;
    let current = created.clientSecret;
    const samples = new Map<string, number[]>();
    const timed = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await call();
      samples.set(name, [...(samples.get(name) ?? []), performance.now() - started]);
      return result;
    };
    for (let i = 0; i < FLOOR_SAMPLES; i += 1) {
      const { nextClientSecret } = await timed('rotate/start', () => stytch.m2m.rotateStart(client));
      const token = await timed('token (the new secret: self-test)', () =>
        stytch.token({ clientId: client, clientSecret: nextClientSecret }),
      );
      await timed('JWKS (the self-test verifies the token)', async () => {
        const keys = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);
        await jwtVerify(token.accessToken.reveal(), keys);
      });
      await timed('rotate (complete)', () => stytch.m2m.rotateComplete(client));
      const refused = await timed('token (the old secret: refused)', () =>
        stytch.token({ clientId: client, clientSecret: current }).then(
          () => false,
          () => true,
        ),
      );
      if (!refused) throw new Error('the old secret still minted after its rotation completed');
      current = nextClientSecret;
    }
    for (const [name, values] of samples) {
      const sorted = [...values].sort((a, b) => a - b);
      steps.push({
        kind: 'stytch',
        name,
        medianMs: Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10,
      });
    }
    await stytch.m2m.delete(client).catch(() => undefined);
    await secrets.send(
      new DeleteSecretCommand({ SecretId: `stytch/bench/${scratch}`, ForceDeleteWithoutRecovery: true }),
    );
    for (let i = 0; i < FLOOR_SAMPLES; i += 1) {
      await dynamo.send(
        new DeleteItemCommand({ TableName: table, Key: { pk: { S: `${scratch}#${i}` }, sk: { S: 'lock' } } }),
      );
    }
  } finally {
    dynamo.destroy();
    secrets.destroy();
    events.destroy();
  }
  return { totalMs: steps.reduce((sum, step) => sum + step.medianMs, 0), steps };
}
