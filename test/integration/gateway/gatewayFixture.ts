import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { LocalExecutor, type LocalLambdaHandler } from '#sandbox/localExecutor/index.js';

/** Construct id of the function behind the callback task (the executor's handler key). */
export const AWAIT_FUNCTION = 'AwaitFunction';
/** Construct id of the function the `Ping` rule targets (the gateway's `lambdaTargets` key). */
export const PING_FUNCTION = 'PingFunction';

/** The detail-type and detail the state machine rule matches. */
export const START_DETAIL_TYPE = 'Start Requested';
export const START_KIND = 'go';
export const PING_DETAIL_TYPE = 'Ping';
/** Construct id of the managed policy that lets its holders put events whose source starts with `test.`. */
export const PUBLISHER_POLICY = 'PublisherPolicy';

/**
 * Synthesizes the gateway's fixture with aws-cdk-lib: a bus; a Standard state machine `Await`
 * (`.waitForTaskToken` Lambda task, payload `{taskToken, id: $.id}`, 30 s timeout, no Catch) → `Done`
 * (Pass); a rule on the bus (`Start Requested` with `detail.kind = go`) starting the state machine with
 * an InputTransformer `{id: $.detail.id, via: 'rule'}`; a rule (`Ping`) invoking a Lambda function with
 * the whole event; a managed policy `PublisherPolicy` allowing `events:PutEvents` on the bus for
 * sources `test.*`.
 */
export function synthGatewayFixture(): Record<string, unknown> {
  // Skip bundling: the local handlers replace the functions' code.
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true },
  });
  const stack = new Stack(app, 'GatewayFixture', {
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  const fn = (id: string): lambda.Function =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });

  const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'fixture-template-bus' });

  const awaitTask = new tasks.LambdaInvoke(stack, 'Await', {
    lambdaFunction: fn(AWAIT_FUNCTION),
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      taskToken: sfn.JsonPath.taskToken,
      id: sfn.JsonPath.stringAt('$.id'),
    }),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(30)),
    resultPath: '$.callback',
  });
  const stateMachine = new sfn.StateMachine(stack, 'Workflow', {
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromChainable(awaitTask.next(new sfn.Pass(stack, 'Done'))),
  });

  new events.Rule(stack, 'StartRule', {
    eventBus: bus,
    eventPattern: { detailType: [START_DETAIL_TYPE], detail: { kind: [START_KIND] } },
    targets: [
      new eventTargets.SfnStateMachine(stateMachine, {
        input: events.RuleTargetInput.fromObject({
          id: events.EventField.fromPath('$.detail.id'),
          via: 'rule',
        }),
      }),
    ],
  });
  new events.Rule(stack, 'PingRule', {
    eventBus: bus,
    eventPattern: { detailType: [PING_DETAIL_TYPE] },
    targets: [new eventTargets.LambdaFunction(fn(PING_FUNCTION))],
  });
  new iam.ManagedPolicy(stack, PUBLISHER_POLICY, {
    statements: [
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: { StringLike: { 'events:source': 'test.*' } },
      }),
    ],
  });
  return Template.fromStack(stack).toJSON();
}

/** The executor over the fixture, and the task tokens its callback handler received. */
export interface GatewayFixtureWorld {
  readonly template: Record<string, unknown>;
  readonly executor: LocalExecutor;
  /** Every task token the Await handler received, per input id. */
  readonly tokens: Map<string, string>;
  /** Resolves with the token the Await handler received for `id`, waiting up to `timeoutMs` for it. */
  tokenFor(id: string, timeoutMs?: number): Promise<string>;
}

/** Synthesizes the fixture and builds a LocalExecutor whose Await handler records its task tokens. */
export function createGatewayFixtureWorld(): GatewayFixtureWorld {
  const template = synthGatewayFixture();
  const tokens = new Map<string, string>();

  const awaitHandler: LocalLambdaHandler = async (payload, context) => {
    const { id, taskToken } = payload as { id: string; taskToken: string };
    if (taskToken !== context.taskToken) throw new Error('payload token differs from context token');
    tokens.set(id, taskToken);
    return { stored: true };
  };
  const executor = LocalExecutor.fromTemplate(template, { handlers: { [AWAIT_FUNCTION]: awaitHandler } });

  const tokenFor = async (id: string, timeoutMs = 5_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const token = tokens.get(id);
      if (token !== undefined) return token;
      if (Date.now() > deadline) throw new Error(`no task token for ${id} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { template, executor, tokens, tokenFor };
}
