import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RotationTriggers, type RotationTriggersProps } from '../../../lib/constructs/RotationTriggers.js';
import { withWorkflow } from './support.js';

describe('Construct: RotationTriggers', () => {
  let triggers: RotationTriggers;
  let template: Template;

  beforeAll(() => {
    const { stack, workflow, resources } = withWorkflow('Triggers');
    triggers = new RotationTriggers(stack, 'Triggers', {
      ...resources,
      stateMachine: workflow.stateMachine,
      leakScannerSources: ['example.scanner'],
    });
    template = Template.fromStack(stack);
  });

  it('holds no schedule: the clients’ schedules are data, in the group it creates, started by its role', () => {
    // Assess
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
      }),
    });
    expect(triggers.registeredSchedules).toBeDefined();
  });

  it('routes leak reports from the known reporters and the configured scanners to the leak intake', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: [
          'stytch-m2m-rotator',
          'stytch-m2m-rotator.github-webhook',
          'stytch-m2m-rotator.operator',
          'example.scanner',
        ],
        'detail-type': ['Secret Leak Detected'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ROTATOR_STATE_MACHINE_ARN: Match.anyValue() }) },
      Description: Match.stringLikeRegexp('^Turns Secret Leak Detected'),
    });
  });

  it('sends what the three rule-invoked functions fail on to the async-failure queue', () => {
    // Assess
    const configs = template.findResources('AWS::Lambda::EventInvokeConfig');
    expect(Object.keys(configs)).toHaveLength(3);
    for (const config of Object.values(configs)) {
      expect(config.Properties.DestinationConfig.OnFailure.Destination).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^TriggersAsyncFailureQueue/), 'Arn'],
      });
    }
  });

  it('refuses bad props, listing every problem at once', () => {
    // Prepare
    const props = {
      leakScannerSources: ['a.scanner', 'a.scanner'],
      environment: {},
    } as unknown as RotationTriggersProps;

    // Act
    const build = () => new RotationTriggers(new Stack(new App(), 'Bad'), 'Triggers', props);

    // Assess
    expect(build).toThrow(/- ledger is required\n[\s\S]*- stateMachine is required\n/);
    expect(build).toThrow(/- leakScannerSources\[1\] "a\.scanner" is already listed/);
  });
});
