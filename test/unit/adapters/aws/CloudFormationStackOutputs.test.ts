import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsServiceError, CloudFormationStackOutputs, StackNotFoundError } from '#adapters/aws/index.js';

describe('Class: CloudFormationStackOutputs', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  let stacks: CloudFormationStackOutputs;

  beforeEach(() => {
    cloudFormation.reset();
    stacks = new CloudFormationStackOutputs({ client: new CloudFormationClient({}) });
  });

  afterEach(() => {
    cloudFormation.reset();
  });

  it('returns the stack outputs by key, leaving out those without a key or a value', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand, { StackName: 'StytchM2MRotator' }).resolves({
      Stacks: [
        {
          StackName: 'StytchM2MRotator',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'LedgerTableName', OutputValue: 'ledger' },
            { OutputKey: 'EventBusName' },
            { OutputValue: 'orphan' },
          ],
        },
      ],
    });

    // Act
    const outputs = await stacks.outputs('StytchM2MRotator');

    // Assess
    expect(outputs).toEqual({ LedgerTableName: 'ledger' });
  });

  it('throws StackNotFoundError, with the SDK error as its cause, for a stack that does not exist', async () => {
    // Prepare
    const missing = Object.assign(new Error('Stack with id NoSuchStack does not exist'), {
      name: 'ValidationError',
      $metadata: { httpStatusCode: 400 },
    });
    cloudFormation.on(DescribeStacksCommand).rejects(missing);

    // Act
    const error = await stacks.outputs('NoSuchStack').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StackNotFoundError);
    expect(error).toMatchObject({ stackName: 'NoSuchStack', cause: missing });
  });

  it('wraps any other failure once, naming the stack', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    cloudFormation.on(DescribeStacksCommand).rejects(throttled);

    // Act
    const error = await stacks.outputs('StytchM2MRotator').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      service: 'CloudFormation',
      operation: 'DescribeStacks',
      resource: 'StytchM2MRotator',
      errorCode: 'Throttling',
      retryable: true,
    });
  });
});
