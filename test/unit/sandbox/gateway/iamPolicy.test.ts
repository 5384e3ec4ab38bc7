import { describe, expect, it } from 'vitest';
import { CONSUMER_PRINCIPAL_TAG, consumerSource, EVENT_SOURCES } from '#core/events.js';
import { evaluatePolicies, type PolicyDocument } from '#sandbox/gateway/iamPolicy.js';
import { templateManagedPolicies } from '#sandbox/gateway/templateGrants.js';

const BUS_ARN = 'arn:aws:events:us-east-1:123456789012:event-bus/stytch-m2m-rotator';
const NAMES = { region: 'us-east-1', accountId: '123456789012', eventBusName: 'stytch-m2m-rotator' };

/** A template shaped as issue 13's contract says lib/ synthesizes the two managed policies. */
const TEMPLATE = {
  Resources: {
    RotatorEventBus12AB: { Type: 'AWS::Events::EventBus', Properties: { Name: 'stytch-m2m-rotator' } },
    RotatorStateMachine9F: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
    RotatorConsumerHealthReportsPolicy55AA: {
      Type: 'AWS::IAM::ManagedPolicy',
      Metadata: { 'aws:cdk:path': 'StytchM2MRotator/Rotator/ConsumerHealthReportsPolicy/Resource' },
      Properties: {
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'events:PutEvents',
              Resource: { 'Fn::GetAtt': ['RotatorEventBus12AB', 'Arn'] },
              Condition: {
                StringEquals: {
                  'events:source': `${EVENT_SOURCES.consumerPrefix}\${aws:PrincipalTag/${CONSUMER_PRINCIPAL_TAG}}`,
                  'events:detail-type': 'Consumer Health Reported',
                },
              },
            },
          ],
        },
      },
    },
    RotatorOperatorPolicy77BB: {
      Type: 'AWS::IAM::ManagedPolicy',
      Metadata: { 'aws:cdk:path': 'StytchM2MRotator/Rotator/OperatorPolicy/Resource' },
      Properties: {
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'events:PutEvents',
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':events:',
                    { Ref: 'AWS::Region' },
                    ':',
                    { Ref: 'AWS::AccountId' },
                    ':event-bus/',
                    { Ref: 'RotatorEventBus12AB' },
                  ],
                ],
              },
              Condition: {
                StringEquals: {
                  'events:source': EVENT_SOURCES.operator,
                  'events:detail-type': 'Secret Leak Detected',
                },
              },
            },
            {
              Effect: 'Allow',
              Action: ['states:StartExecution', 'states:DescribeExecution'],
              Resource: { Ref: 'RotatorStateMachine9F' },
            },
          ],
        },
      },
    },
  },
};

const policies = templateManagedPolicies(TEMPLATE, {
  ...NAMES,
  stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:M',
});
const consumerPolicy = policies.get('ConsumerHealthReportsPolicy') as PolicyDocument;
const operatorPolicy = policies.get('OperatorPolicy') as PolicyDocument;

function putEvents(
  source: string,
  detailType: string,
  tags: Record<string, string> = {},
  resource = BUS_ARN,
) {
  const context: Record<string, string> = { 'events:source': source, 'events:detail-type': detailType };
  for (const [key, value] of Object.entries(tags)) context[`aws:PrincipalTag/${key}`] = value;
  return { action: 'events:PutEvents', resource, context };
}

describe('templateManagedPolicies: the template’s managed policies by construct id, resolved', () => {
  it('finds both policies and resolves the bus ARN (GetAtt and Join of pseudo parameters)', () => {
    // Assess
    expect([...policies.keys()].sort()).toEqual(['ConsumerHealthReportsPolicy', 'OperatorPolicy']);
    expect(JSON.stringify(consumerPolicy)).toContain(`"Resource":"${BUS_ARN}"`);
    expect(JSON.stringify(operatorPolicy)).toContain(`"Resource":"${BUS_ARN}"`);
    expect(JSON.stringify(operatorPolicy)).toContain(
      '"Resource":"arn:aws:states:us-east-1:123456789012:stateMachine:M"',
    );
    // The IAM policy variable is left for the evaluator.
    expect(JSON.stringify(consumerPolicy)).toContain(`\${aws:PrincipalTag/${CONSUMER_PRINCIPAL_TAG}}`);
  });
});

describe('evaluatePolicies: the consumer policy (the principal tag names the consumer)', () => {
  it('allows a consumer its own health report', () => {
    // Act
    const decision = evaluatePolicies(
      [consumerPolicy],
      putEvents(consumerSource('billing-api'), 'Consumer Health Reported', {
        [CONSUMER_PRINCIPAL_TAG]: 'billing-api',
      }),
    );

    // Assess
    expect(decision).toBe('allow');
  });

  it('refuses a report in another consumer’s name, another detail-type, another bus', () => {
    // Prepare
    const tags = { [CONSUMER_PRINCIPAL_TAG]: 'invoice-worker' };

    // Act
    const decisions = [
      evaluatePolicies(
        [consumerPolicy],
        putEvents(consumerSource('billing-api'), 'Consumer Health Reported', tags),
      ),
      evaluatePolicies(
        [consumerPolicy],
        putEvents(consumerSource('invoice-worker'), 'Secret Leak Detected', tags),
      ),
      evaluatePolicies(
        [consumerPolicy],
        putEvents(
          consumerSource('invoice-worker'),
          'Consumer Health Reported',
          tags,
          'arn:aws:events:us-east-1:123456789012:event-bus/default',
        ),
      ),
    ];

    // Assess
    expect(decisions).toEqual(['implicitDeny', 'implicitDeny', 'implicitDeny']);
  });

  it('refuses a principal without the tag, whatever source it claims (the variable resolves to nothing)', () => {
    // Act
    const decisions = [
      evaluatePolicies(
        [consumerPolicy],
        putEvents(consumerSource('billing-api'), 'Consumer Health Reported'),
      ),
      evaluatePolicies([consumerPolicy], putEvents(EVENT_SOURCES.consumerPrefix, 'Consumer Health Reported')),
    ];

    // Assess
    expect(decisions).toEqual(['implicitDeny', 'implicitDeny']);
  });
});

describe('evaluatePolicies: the operator grant and IAM’s rules', () => {
  it('allows the operator a leak report, nothing else on the bus', () => {
    // Act
    const leak = evaluatePolicies(
      [operatorPolicy],
      putEvents(EVENT_SOURCES.operator, 'Secret Leak Detected'),
    );
    const health = evaluatePolicies(
      [operatorPolicy],
      putEvents(consumerSource('billing-api'), 'Consumer Health Reported'),
    );
    const rotatorSource = evaluatePolicies(
      [operatorPolicy],
      putEvents(EVENT_SOURCES.rotator, 'Secret Leak Detected'),
    );

    // Assess
    expect([leak, health, rotatorSource]).toEqual(['allow', 'implicitDeny', 'implicitDeny']);
  });

  it('lets an explicit Deny win over an Allow, and matches wildcards and StringLike', () => {
    // Prepare
    const broad: PolicyDocument = {
      Statement: [{ Effect: 'Allow', Action: 'events:*', Resource: '*' }],
    };
    const denyConsumers: PolicyDocument = {
      Statement: {
        Effect: 'Deny',
        Action: 'events:Put*',
        Resource: 'arn:aws:events:*:*:event-bus/stytch-*',
        Condition: { StringLike: { 'events:source': `${EVENT_SOURCES.consumerPrefix}*` } },
      },
    };

    // Act
    const denied = evaluatePolicies(
      [broad, denyConsumers],
      putEvents(consumerSource('x'), 'Consumer Health Reported'),
    );
    const allowed = evaluatePolicies(
      [broad, denyConsumers],
      putEvents('scanner.acme', 'Secret Leak Detected'),
    );
    const nothing = evaluatePolicies([], putEvents('scanner.acme', 'Secret Leak Detected'));

    // Assess
    expect([denied, allowed, nothing]).toEqual(['explicitDeny', 'allow', 'implicitDeny']);
  });

  it('treats an absent key as AWS does: StringEquals fails, StringNotEquals and IfExists hold, Null says so', () => {
    // Prepare
    const statement = (Condition: Record<string, Record<string, unknown>>): PolicyDocument => ({
      Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: '*', Condition }],
    });
    const request = { action: 'events:PutEvents', resource: BUS_ARN, context: { 'events:source': 'a' } };

    // Act
    const decisions = [
      evaluatePolicies([statement({ StringEquals: { 'aws:PrincipalTag/team': 'x' } })], request),
      evaluatePolicies([statement({ StringNotEquals: { 'aws:PrincipalTag/team': 'x' } })], request),
      evaluatePolicies([statement({ StringEqualsIfExists: { 'aws:PrincipalTag/team': 'x' } })], request),
      evaluatePolicies([statement({ Null: { 'aws:PrincipalTag/team': 'true' } })], request),
      evaluatePolicies([statement({ NumericLessThan: { 'events:source': '3' } })], request),
    ];

    // Assess: the last operator is not one the sandbox knows: an Allow with it does not apply.
    expect(decisions).toEqual(['implicitDeny', 'allow', 'allow', 'allow', 'implicitDeny']);
  });
});
