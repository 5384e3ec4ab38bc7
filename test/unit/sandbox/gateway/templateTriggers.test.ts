import { describe, expect, it } from 'vitest';
import { buildTargetInput, readPath, templateRules, templateSchedules } from '#sandbox/gateway/index.js';

const EVENT = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Secret Leak Detected',
  source: 'scanner',
  detail: { clientId: 'm2m-client-a', count: 3, nested: { list: ['x', 'y'] }, 'odd-key': true },
};

const TEMPLATE = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'bus' } },
    Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {},
      Metadata: { 'aws:cdk:path': 'Stack/Rotator/HealthAggregatorFunction/Function/Resource' },
    },
    LeakRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { 'detail-type': ['Secret Leak Detected'] },
        State: 'ENABLED',
        Targets: [
          {
            Id: 'Target0',
            Arn: { Ref: 'Machine' },
            InputTransformer: {
              InputPathsMap: { id: '$.detail.clientId' },
              InputTemplate: '{"clientId":<id>,"trigger":"leak"}',
            },
          },
        ],
      },
    },
    HealthRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { 'detail-type': ['Consumer Health Reported'] },
        State: 'DISABLED',
        Targets: [{ Id: 'T', Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }],
      },
    },
    CronRule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 day)' } },
    Schedule: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        ScheduleExpression: 'rate(30 days)',
        Target: { Arn: { Ref: 'Machine' }, Input: '{"clientId":"m2m-client-a","trigger":"schedule"}' },
      },
    },
  },
};

describe('Function: readPath', () => {
  it('reads dotted, indexed and quoted segments', () => {
    expect(readPath(EVENT, '$')).toBe(EVENT);
    expect(readPath(EVENT, '$.detail.clientId')).toBe('m2m-client-a');
    expect(readPath(EVENT, '$.detail.nested.list[1]')).toBe('y');
    expect(readPath(EVENT, "$.detail['odd-key']")).toBe(true);
  });

  it('gives undefined for a path that finds nothing', () => {
    expect(readPath(EVENT, '$.detail.missing.deeper')).toBeUndefined();
    expect(readPath(EVENT, '$.detail.nested.list[7]')).toBeUndefined();
    expect(readPath(EVENT, 'detail')).toBeUndefined();
  });
});

describe('Function: buildTargetInput', () => {
  it('inserts JSON values outside strings and text inside them, null for a missing path', () => {
    // Act
    const input = buildTargetInput(
      {
        kind: 'transformer',
        pathsMap: {
          id: '$.detail.clientId',
          n: '$.detail.count',
          list: '$.detail.nested.list',
          none: '$.nope',
        },
        template: '{"clientId":<id>,"count":<n>,"list":<list>,"label":"client <id> (<n>)","none":<none>}',
      },
      EVENT,
    );

    // Assess
    expect(input).toEqual({
      clientId: 'm2m-client-a',
      count: 3,
      list: ['x', 'y'],
      label: 'client m2m-client-a (3)',
      none: null,
    });
  });

  it('passes the whole event, a constant, or a path', () => {
    expect(buildTargetInput({ kind: 'event' }, EVENT)).toBe(EVENT);
    expect(buildTargetInput({ kind: 'constant', json: '{"a":1}' }, EVENT)).toEqual({ a: 1 });
    expect(buildTargetInput({ kind: 'path', path: '$.detail.count' }, EVENT)).toBe(3);
  });

  it('escapes quotes of a string inserted inside a JSON string', () => {
    const input = buildTargetInput(
      { kind: 'transformer', pathsMap: { s: '$.s' }, template: '{"text":"<s>"}' },
      { s: 'say "hi"' },
    );
    expect(input).toEqual({ text: 'say "hi"' });
  });
});

describe('Function: templateRules', () => {
  it('reads pattern rules with their bus, state and resolved targets, and skips schedule rules', () => {
    // Act
    const rules = templateRules(TEMPLATE);

    // Assess
    expect(rules.map((rule) => rule.logicalId)).toEqual(['LeakRule', 'HealthRule']);
    expect(rules[0]).toMatchObject({
      eventBusLogicalId: 'Bus',
      enabled: true,
      targets: [
        {
          id: 'Target0',
          target: { kind: 'stateMachine', logicalId: 'Machine' },
          input: { kind: 'transformer' },
        },
      ],
    });
    expect(rules[1]).toMatchObject({
      enabled: false,
      targets: [
        {
          target: {
            kind: 'lambda',
            logicalId: 'Fn',
            constructPath: 'Stack/Rotator/HealthAggregatorFunction/Function',
          },
          input: { kind: 'event' },
        },
      ],
    });
  });
});

describe('Function: templateSchedules', () => {
  it('reads each schedule with its target input and UTC as the default time zone', () => {
    expect(templateSchedules(TEMPLATE)).toEqual([
      {
        logicalId: 'Schedule',
        expression: 'rate(30 days)',
        timeZone: 'UTC',
        target: { kind: 'stateMachine', logicalId: 'Machine' },
        input: '{"clientId":"m2m-client-a","trigger":"schedule"}',
      },
    ]);
  });
});
