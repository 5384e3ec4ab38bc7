import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  LocalExecutor,
  LocalExecutorTemplateError,
  type LocalLambdaHandler,
  resolveStateMachine,
} from '#sandbox/localExecutor/index.js';
import { createFixtureWorld, fixtureTemplate } from './fixtures/fixtureExecutor.js';

const noop: LocalLambdaHandler = async () => ({});
const fixtureHandlers = { PrepareFunction: noop, AwaitFunction: noop, FinishFunction: noop };

function templateOf(build: (stack: Stack) => void): Record<string, unknown> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
  const stack = new Stack(app, 'TemplateTest');
  build(stack);
  return Template.fromStack(stack).toJSON();
}

function templateError(action: () => unknown): LocalExecutorTemplateError {
  try {
    action();
  } catch (error) {
    if (error instanceof LocalExecutorTemplateError) return error;
    throw error;
  }
  throw new Error('expected a LocalExecutorTemplateError');
}

describe('Function: LocalExecutor.fromTemplate', () => {
  it('lists every Lambda task whose function has no handler, with the key to add', () => {
    // Act
    const error = templateError(() =>
      LocalExecutor.fromTemplate(fixtureTemplate({ withAuditTask: true }), {
        handlers: { PrepareFunction: noop, FinishFunction: noop },
      }),
    );

    // Assess
    expect(error.issues).toEqual([
      expect.stringMatching(
        /AwaitCallback .*LocalExecutorFixture\/AwaitFunction.*handlers\['AwaitFunction'\]/,
      ),
      expect.stringMatching(/Audit .*LocalExecutorFixture\/AuditFunction.*handlers\['AuditFunction'\]/),
    ]);
    expect(error.message).toMatch(/2 problems/);
  });

  it('matches handlers by logical id when the template has no path metadata', async () => {
    // Prepare
    const world = createFixtureWorld({ pathMetadata: false });

    // Act
    const { executionArn } = world.executor.startExecution({ input: { id: 'm', mode: 'direct' } });
    const result = await world.executor.waitForExecution(executionArn);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    await world.executor.close();
  });

  it('accepts a construct path tail and reports a key that matches several functions', () => {
    // Prepare: two functions with the construct id Handler, in the scopes One and Two.
    const template = templateOf((stack) => {
      const invoke = (scope: string): tasks.LambdaInvoke =>
        new tasks.LambdaInvoke(stack, `${scope}Invoke`, {
          lambdaFunction: new lambda.Function(new Construct(stack, scope), 'Handler', {
            runtime: lambda.Runtime.NODEJS_22_X,
            handler: 'index.handler',
            code: lambda.Code.fromInline('exports.handler = async () => ({});'),
          }),
        });
      new sfn.StateMachine(stack, 'Machine', {
        definitionBody: sfn.DefinitionBody.fromChainable(invoke('One').next(invoke('Two'))),
      });
    });

    // Act
    const ambiguous = templateError(() =>
      LocalExecutor.fromTemplate(template, { handlers: { Handler: noop } }),
    );
    const executor = LocalExecutor.fromTemplate(template, {
      handlers: { 'One/Handler': noop, 'TemplateTest/Two/Handler': noop },
    });

    // Assess
    expect(ambiguous.issues).toContainEqual(expect.stringMatching(/^Handler key Handler is ambiguous/));
    expect(executor.stateMachineName).toMatch(/^Machine[0-9A-F]{8}$/);
  });

  it('reports several state machines unless stateMachineLogicalId chooses one', () => {
    // Prepare
    const template = templateOf((stack) => {
      new sfn.StateMachine(stack, 'First', {
        definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P1')),
      });
      new sfn.StateMachine(stack, 'Second', {
        definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P2')),
      });
    });
    const logicalIds = Object.keys(template.Resources as object).filter((id) =>
      /^(First|Second)[0-9A-F]{8}$/.test(id),
    );

    // Act
    const error = templateError(() => LocalExecutor.fromTemplate(template, { handlers: {} }));
    const chosen = LocalExecutor.fromTemplate(template, {
      handlers: {},
      stateMachineLogicalId: logicalIds[1],
      stateMachineName: 'second',
      region: 'eu-central-1',
      accountId: '111111111111',
    });

    // Assess
    expect(error.issues).toEqual([expect.stringMatching(/2 state machines .* pass stateMachineLogicalId/)]);
    expect(chosen.stateMachineArn).toBe('arn:aws:states:eu-central-1:111111111111:stateMachine:second');
  });

  it('reports a JSONata state machine', () => {
    // Prepare
    const template = templateOf((stack) => {
      new sfn.StateMachine(stack, 'Machine', {
        queryLanguage: sfn.QueryLanguage.JSONATA,
        definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'P')),
      });
    });

    // Act
    const error = templateError(() => LocalExecutor.fromTemplate(template, { handlers: {} }));

    // Assess
    expect(error.issues).toEqual([expect.stringMatching(/JSONata/)]);
  });

  it('runs a non-Lambda task through taskHandlers and reports it when there is none', async () => {
    // Prepare
    const template = templateOf((stack) => {
      const bus = new events.EventBus(stack, 'Bus');
      const publish = new tasks.EventBridgePutEvents(stack, 'Publish', {
        entries: [
          {
            detail: sfn.TaskInput.fromJsonPathAt('$'),
            detailType: 'Rotation Pending',
            source: 'rotator',
            eventBus: bus,
          },
        ],
      });
      new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(publish) });
    });
    const received: unknown[] = [];

    // Act
    const error = templateError(() => LocalExecutor.fromTemplate(template, { handlers: {} }));
    const executor = LocalExecutor.fromTemplate(template, {
      handlers: {},
      taskHandlers: {
        Publish: async (parameters) => {
          received.push(parameters);
          return { Entries: [{ EventId: 'e-1' }], FailedEntryCount: 0 };
        },
      },
    });
    const { executionArn } = executor.startExecution({ input: { clientId: 'c' } });
    const result = await executor.waitForExecution(executionArn);

    // Assess
    expect(error.issues).toEqual([
      expect.stringMatching(/Publish uses arn:aws:states:::events:putEvents.*taskHandlers\['Publish'\]/),
    ]);
    expect(received).toEqual([
      {
        Entries: [
          {
            Detail: { clientId: 'c' },
            DetailType: 'Rotation Pending',
            EventBusName: expect.stringMatching(
              /^arn:aws:events:us-east-1:123456789012:event-bus\/Bus[0-9A-F]{8}$/,
            ),
            Source: 'rotator',
          },
        ],
      },
    ]);
    expect(JSON.parse(result.output ?? 'null')).toEqual({
      Entries: [{ EventId: 'e-1' }],
      FailedEntryCount: 0,
    });
    const scheduled = executor
      .getExecutionHistory(executionArn)
      .events.find((e) => e.type === 'TaskScheduled');
    expect(scheduled?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'events',
      resource: 'putEvents',
    });
  });
});

// biome-ignore-start lint/suspicious/noTemplateCurlyInString: `${…}` here is CloudFormation's and Step Functions' placeholder syntax.
describe('Function: resolveStateMachine', () => {
  const env = { region: 'us-west-2', accountId: '222222222222' };

  it('resolves Fn::Join, Fn::Sub, GetAtt, Ref and DefinitionSubstitutions to placeholders', () => {
    // Prepare
    const template = {
      Resources: {
        Fn1: { Type: 'AWS::Lambda::Function', Properties: {} },
        Table1: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Machine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            RoleArn: { 'Fn::GetAtt': ['Role1', 'Arn'] },
            DefinitionString: {
              'Fn::Join': [
                '',
                [
                  '{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"fn":"',
                  { 'Fn::GetAtt': ['Fn1', 'Arn'] },
                  '","sub":"',
                  {
                    'Fn::Sub': [
                      'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Name}.${AWS::URLSuffix}/${!Literal}',
                      { Name: { Ref: 'Table1' } },
                    ],
                  },
                  '","table":"${TableName}","tableArn":"',
                  { 'Fn::Sub': '${Table1.Arn}' },
                  '"},"End":true}}}',
                ],
              ],
            },
            DefinitionSubstitutions: { TableName: { Ref: 'Table1' } },
          },
        },
        Role1: { Type: 'AWS::IAM::Role', Properties: {} },
      },
    };

    // Act
    const { stateMachine, issues } = resolveStateMachine(template, env);

    // Assess
    expect(issues).toEqual([]);
    expect(stateMachine?.roleArn).toBe('arn:aws:iam::222222222222:role/Role1');
    expect(stateMachine?.definition).toEqual({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Pass',
          Result: {
            fn: 'arn:aws:lambda:us-west-2:222222222222:function:Fn1',
            sub: 'arn:aws:x:us-west-2:222222222222:Table1.amazonaws.com/${Literal}',
            table: 'Table1',
            tableArn: 'arn:aws:dynamodb:us-west-2:222222222222:table/Table1',
          },
          End: true,
        },
      },
    });
  });

  it('reports every intrinsic it cannot resolve, with where it is', () => {
    // Prepare
    const template = {
      Resources: {
        Machine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            DefinitionString: {
              'Fn::Join': [
                '',
                ['{"StartAt":"', { 'Fn::ImportValue': 'Shared' }, '","x":"', { Ref: 'Missing' }, '"}'],
              ],
            },
          },
        },
      },
    };

    // Act
    const { stateMachine, issues } = resolveStateMachine(template, env);

    // Assess
    expect(stateMachine).toBeUndefined();
    expect(issues).toEqual([
      expect.stringMatching(/^Machine\.DefinitionString.*Fn::ImportValue is not supported locally/),
      expect.stringMatching(/^Machine\.DefinitionString.*Ref Missing names no resource/),
    ]);
  });

  it('reports a template without a state machine', () => {
    expect(resolveStateMachine({ Resources: {} }, env).issues).toEqual([
      'The template has no AWS::StepFunctions::StateMachine.',
    ]);
    expect(resolveStateMachine('nope', env).issues).toEqual([
      expect.stringMatching(/not a CloudFormation template/),
    ]);
  });

  it('keeps the fixture handlers valid (the fixture itself resolves with no issue)', () => {
    expect(() => LocalExecutor.fromTemplate(fixtureTemplate(), { handlers: fixtureHandlers })).not.toThrow();
  });
});
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: end of the placeholder tests.
