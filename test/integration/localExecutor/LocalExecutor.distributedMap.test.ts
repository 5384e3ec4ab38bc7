import { setTimeout as sleep } from 'node:timers/promises';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type HistoryEvent,
  LocalExecutor,
  type LocalExecutorOptions,
  LocalExecutorTemplateError,
  type LocalItemReader,
  type LocalLambdaHandler,
  RESULTS_NOT_WRITTEN,
} from '#sandbox/localExecutor/index.js';
import { NamedError } from './fixtures/fixtureExecutor.js';

/** Options of {@link synthMapFixture}. */
interface MapFixtureOptions {
  /** Adds a Catch of States.ExceedToleratedFailureThreshold on the Map (→ Pass `TooManyFailed`). */
  readonly withCatch?: boolean;
}

/**
 * A Distributed Map shaped like lib/constructs/FleetRotation.ts, synthesized with aws-cdk-lib: the items
 * come from an S3 JSON object (`ItemReader`, key `$.selection.key`), `ItemSelector` takes the client id
 * from `$$.Map.Item.Value`, at most `$.maxConcurrency` items run at once, `$.toleratedFailurePercentage`
 * of them may fail, the results go to the bucket (ResultWriterV2). Each item: a Lambda task `Process`,
 * then a Choice `Outcome` that fails the item (`Item.Refused`) unless it was rotated.
 */
function synthMapFixture(options: MapFixtureOptions = {}): Record<string, unknown> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stack = new Stack(app, 'DistributedMapFixture');
  stack.node.setContext('@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2', true);
  const bucket = new s3.Bucket(stack, 'SelectionBucket');
  const process = new tasks.LambdaInvoke(stack, 'Process', {
    lambdaFunction: new lambda.Function(stack, 'ItemFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    }),
    outputPath: '$.Payload',
  });
  const outcome = new sfn.Choice(stack, 'Outcome')
    .when(sfn.Condition.stringEquals('$.outcome', 'rotated'), new sfn.Succeed(stack, 'Rotated'))
    .otherwise(new sfn.Fail(stack, 'Refused', { error: 'Item.Refused', cause: 'The item was refused' }));
  const map = new sfn.DistributedMap(stack, 'RotateEach', {
    label: 'RotateEach',
    itemReader: new sfn.S3JsonItemReader({ bucket, key: sfn.JsonPath.stringAt('$.selection.key') }),
    itemSelector: {
      'clientId.$': '$$.Map.Item.Value.clientId',
      'trigger.$': '$.trigger',
      'fleetRun.$': '$$.Execution.Name',
    },
    maxConcurrencyPath: '$.maxConcurrency',
    toleratedFailurePercentagePath: '$.toleratedFailurePercentage',
    mapExecutionType: sfn.StateMachineType.STANDARD,
    resultWriterV2: new sfn.ResultWriterV2({ bucket, prefix: 'results/' }),
    resultPath: '$.results',
  });
  map.itemProcessor(process.next(outcome), {
    mode: sfn.ProcessorMode.DISTRIBUTED,
    executionType: sfn.ProcessorType.STANDARD,
  });
  if (options.withCatch) {
    map.addCatch(new sfn.Pass(stack, 'TooManyFailed'), {
      errors: ['States.ExceedToleratedFailureThreshold'],
      resultPath: '$.failure',
    });
  }
  new sfn.StateMachine(stack, 'Fleet', {
    definitionBody: sfn.DefinitionBody.fromChainable(map.next(new sfn.Succeed(stack, 'FleetRotated'))),
  });
  return Template.fromStack(stack).toJSON();
}

const templates = new Map<boolean, Record<string, unknown>>();
function mapTemplate(options: MapFixtureOptions = {}): Record<string, unknown> {
  const key = options.withCatch ?? false;
  let template = templates.get(key);
  if (template === undefined) {
    template = synthMapFixture(options);
    templates.set(key, template);
  }
  return structuredClone(template);
}

/** What the item handler received. */
interface ItemPayload {
  readonly clientId: string;
  readonly trigger: string;
  readonly fleetRun: string;
}

/** The executor and what its handlers saw. */
interface MapWorld {
  readonly executor: LocalExecutor;
  /** Every ItemReader call's parameters. */
  readonly readerCalls: Record<string, unknown>[];
  /** Every item handler call's payload, in call order. */
  readonly payloads: ItemPayload[];
  /** The most item handlers that ran at once. */
  readonly maxInFlight: () => number;
  /** Lets the held item handlers return. */
  readonly release: () => void;
}

/**
 * Binds the fixture: the reader returns `items`; the item handler rotates `ok-*` clients, refuses
 * `refuse-*` ones (the item fails in the Fail state) and throws for `throw-*` ones (the item fails in
 * its task). With `hold`, every item handler waits for `release()`; else it takes `delayMs`.
 */
function createMapWorld(options: {
  readonly items: unknown;
  readonly hold?: boolean;
  readonly delayMs?: number;
  readonly withCatch?: boolean;
}): MapWorld {
  const readerCalls: Record<string, unknown>[] = [];
  const payloads: ItemPayload[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });

  const reader: LocalItemReader = async (parameters) => {
    readerCalls.push(parameters);
    return options.items as unknown[];
  };
  const item: LocalLambdaHandler = async (payload) => {
    const input = payload as ItemPayload;
    payloads.push(input);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.hold) await released;
      else await sleep(options.delayMs ?? 1);
      if (input.clientId.startsWith('throw-'))
        throw new NamedError('Boom', `cannot rotate ${input.clientId}`);
      return {
        clientId: input.clientId,
        outcome: input.clientId.startsWith('refuse-') ? 'refused' : 'rotated',
      };
    } finally {
      inFlight -= 1;
    }
  };

  const executor = LocalExecutor.fromTemplate(mapTemplate({ withCatch: options.withCatch ?? false }), {
    handlers: { ItemFunction: item },
    itemReaders: { RotateEach: reader },
    retryIntervalScale: 0.001,
  });
  return { executor, readerCalls, payloads, maxInFlight: () => maxInFlight, release };
}

function fleetInput(maxConcurrency: number, toleratedFailurePercentage: number) {
  return {
    selection: { key: 'selections/run-1.json' },
    trigger: 'manual',
    maxConcurrency,
    toleratedFailurePercentage,
  };
}

const clients = (...ids: string[]) => ids.map((clientId) => ({ clientId, note: 'only-in-the-selection' }));

function stateName(event: HistoryEvent): string | undefined {
  return event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;
}

describe('Class: LocalExecutor (Distributed Map)', () => {
  let world: MapWorld | undefined;
  afterEach(async () => {
    world?.release();
    await world?.executor.close();
    world = undefined;
  });

  it('reads the items with the itemReaders entry and keeps them out of the state data and the history', async () => {
    // Prepare
    world = createMapWorld({ items: clients('ok-a', 'ok-b', 'ok-c') });
    const { executor } = world;
    const input = fleetInput(2, 0);

    // Act
    const { executionArn } = executor.startExecution({ input, name: 'fleet-1' });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(world.readerCalls).toEqual([
      { Bucket: expect.stringMatching(/^SelectionBucket[0-9A-F]{8}$/), Key: 'selections/run-1.json' },
    ]);
    // ItemSelector: `$$.Map.Item.Value`, the Map's input and the context, as on AWS.
    expect([...world.payloads].sort((a, b) => a.clientId.localeCompare(b.clientId))).toEqual(
      ['ok-a', 'ok-b', 'ok-c'].map((clientId) => ({ clientId, trigger: 'manual', fleetRun: 'fleet-1' })),
    );
    // The ResultWriter is not emulated, and says so where the Map's result goes.
    expect(JSON.parse(result.output ?? 'null')).toEqual({ ...input, results: RESULTS_NOT_WRITTEN });

    const { events } = executor.getExecutionHistory(executionArn);
    expect(JSON.stringify(events)).not.toContain('only-in-the-selection');
    const names = events.map((event) => `${event.type} ${stateName(event) ?? ''}`.trim());
    expect(names.slice(0, 6)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered RotateEach (ItemReader)',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited RotateEach (ItemReader)',
    ]);
    expect(names[6]).toBe('MapStateEntered RotateEach');
    expect(names.filter((name) => name === 'MapIterationSucceeded')).toHaveLength(3);
    expect(names.slice(-4)).toEqual([
      'MapStateExited RotateEach',
      'SucceedStateEntered FleetRotated',
      'SucceedStateExited FleetRotated',
      'ExecutionSucceeded',
    ]);
    expect(events[6]?.stateEnteredEventDetails?.input).toBe(JSON.stringify(input));
    expect(events[2]?.taskScheduledEventDetails).toMatchObject({ resourceType: 's3', resource: 'getObject' });
    expect(JSON.parse(events[2]?.taskScheduledEventDetails?.parameters ?? '')).toEqual(world.readerCalls[0]);
    expect(JSON.parse(events[4]?.taskSucceededEventDetails?.output ?? '')).toEqual({ ItemCount: 3 });
  });

  it('runs at most MaxConcurrencyPath items at once', async () => {
    // Prepare
    const ids = Array.from({ length: 12 }, (_, i) => `ok-${i}`);
    world = createMapWorld({ items: clients(...ids), delayMs: 20 });

    // Act
    const { executionArn } = world.executor.startExecution({ input: fleetInput(3, 0) });
    const result = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(world.payloads).toHaveLength(12);
    expect(world.maxInFlight()).toBe(3);
  });

  it('succeeds while the failed items stay within ToleratedFailurePercentagePath, each counted', async () => {
    // Prepare: 2 of 10 fail (20%), 20% tolerated.
    const ids = ['refuse-1', 'throw-2', ...Array.from({ length: 8 }, (_, i) => `ok-${i}`)];
    world = createMapWorld({ items: clients(...ids) });

    // Act
    const { executionArn } = world.executor.startExecution({ input: fleetInput(0, 20) });
    const result = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(world.payloads).toHaveLength(10);
    const failed = world.executor
      .getExecutionHistory(executionArn)
      .events.filter(
        (event) => event.type === 'TaskStateExited' && stateName(event) === 'RotateEach (item failed)',
      )
      .map((event) => JSON.parse(event.stateExitedEventDetails?.output ?? 'null'));
    expect(failed).toHaveLength(2);
    expect(failed).toContainEqual({ Error: 'Item.Refused', Cause: 'The item was refused' });
    expect(failed).toContainEqual({ Error: 'Boom', Cause: expect.stringContaining('cannot rotate throw-2') });
  });

  it.each([
    {
      case: 'the third failure of ten exceeds 20%',
      ids: ['ok-0', 'refuse-1', 'throw-2', 'refuse-3'],
      tolerated: 20,
      ran: 4,
    },
    { case: 'the first failure exceeds 0%', ids: ['refuse-0'], tolerated: 0, ran: 1 },
  ])(
    'fails with States.ExceedToleratedFailureThreshold at once when $case, starting no further item',
    async ({ ids, tolerated, ran }) => {
      // Prepare: one item at a time, so the failing item is known; ten items in all.
      const rest = Array.from({ length: 10 - ids.length }, (_, i) => `ok-rest-${i}`);
      world = createMapWorld({ items: clients(...ids, ...rest) });

      // Act
      const { executionArn } = world.executor.startExecution({ input: fleetInput(1, tolerated) });
      const result = await world.executor.waitForExecution(executionArn);
      await sleep(50);

      // Assess
      expect(result).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
      expect(result.cause).toMatch(/RotateEach: \d+ of 10 items failed/);
      expect(world.payloads).toHaveLength(ran);
      expect(world.payloads.map((payload) => payload.clientId)).toEqual(ids);
    },
  );

  it("lets the Map's Catch handle States.ExceedToleratedFailureThreshold, the remaining items never starting", async () => {
    // Prepare
    world = createMapWorld({ items: clients('refuse-0', 'ok-1', 'ok-2', 'ok-3'), withCatch: true });

    // Act
    const { executionArn } = world.executor.startExecution({ input: fleetInput(1, 0) });
    const result = await world.executor.waitForExecution(executionArn);
    await sleep(50);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null').failure).toEqual({
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: expect.stringContaining('RotateEach: 1 of 4 items failed'),
    });
    expect(world.payloads.map((payload) => payload.clientId)).toEqual(['refuse-0']);
    const { events } = world.executor.getExecutionHistory(executionArn);
    expect(events.filter((event) => event.type === 'MapIterationStarted')).toHaveLength(1);
  });

  it('fails the Map with States.ItemReaderFailed when the reader returns no array', async () => {
    // Prepare
    world = createMapWorld({ items: { clientIds: ['ok-1'] } });

    // Act
    const { executionArn } = world.executor.startExecution({ input: fleetInput(1, 0) });
    const result = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(world.payloads).toEqual([]);
  });

  it('stops the running items and starts no further one when the execution is stopped', async () => {
    // Prepare: two of six items running, held.
    world = createMapWorld({ items: clients('ok-1', 'ok-2', 'ok-3', 'ok-4', 'ok-5', 'ok-6'), hold: true });
    const { executor } = world;
    const { executionArn } = executor.startExecution({ input: fleetInput(2, 0) });
    await vi.waitFor(() => expect(world?.payloads).toHaveLength(2));

    // Act
    executor.stopExecution(executionArn, { error: 'Stopped', cause: 'by the test' });
    world.release();
    const result = await executor.waitForExecution(executionArn);
    await sleep(50);

    // Assess
    expect(result).toMatchObject({ status: 'ABORTED', error: 'Stopped' });
    expect(world.payloads).toHaveLength(2);
    expect(executor.getExecutionHistory(executionArn).events.at(-1)?.type).toBe('ExecutionAborted');
  });

  it('reports a Distributed Map whose ItemReader has no itemReaders entry', () => {
    // Prepare
    const options: LocalExecutorOptions = { handlers: { ItemFunction: async () => ({}) } };

    // Act
    let error: unknown;
    try {
      LocalExecutor.fromTemplate(mapTemplate(), options);
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(LocalExecutorTemplateError);
    expect((error as LocalExecutorTemplateError).issues).toEqual([
      expect.stringMatching(
        /^Map state RotateEach reads its items with arn:aws:states:::s3:getObject .*itemReaders\['RotateEach'\]/,
      ),
    ]);
  });
});
