import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG_PATH,
  DeploymentConfigNotGivenError,
  selectDeploymentConfig,
} from '../../lib/config/configSelection.js';
import { type DeploymentConfig, loadDeploymentConfig } from '../../lib/config/DeploymentConfig.js';
import { RotatorStack, type RotatorStackProps } from '../../lib/RotatorStack.js';

/**
 * A deploy that cannot surprise (docs/deploying.md): the sample never deploys by accident, a failed
 * first deploy can be retried and a deleted stack recreated (no retained resource with a fixed
 * name), the ledger survives and is deletion-protected, and cdk.json sets the feature flags this
 * aws-cdk-lib recommends.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const samplePath = `${repoRoot}config/rotator.sample.json`;

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
interface TemplateJson {
  readonly Resources: Record<string, Resource>;
  readonly Rules?: Record<string, { Assertions: { Assert: unknown; AssertDescription: string }[] }>;
}

function synth(
  props: Partial<RotatorStackProps> = {},
  context: Record<string, unknown> = {},
): { app: App; template: TemplateJson } {
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new RotatorStack(app, 'StytchM2MRotator', {
    config: loadDeploymentConfig(samplePath),
    ...props,
  });
  return { app, template: Template.fromStack(stack).toJSON() as TemplateJson };
}

/** The sample with `sample` left out: a config of one's own. */
function ownConfig(): DeploymentConfig {
  const { sample: _sample, ...own } = loadDeploymentConfig(samplePath);
  return own;
}

const ofType = (template: TemplateJson, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

/** DeletionPolicy/UpdateReplacePolicy of every resource of `type`, deduplicated. */
const policiesOf = (template: TemplateJson, type: string, filter: (id: string) => boolean = () => true) => [
  ...new Set(
    ofType(template, type)
      .filter(([id]) => filter(id))
      .map(([, r]) => `${r.DeletionPolicy ?? 'Delete'}/${r.UpdateReplacePolicy ?? 'Delete'}`),
  ),
];

describe('Deploy: the deployment config', () => {
  it('stops with one line saying how to pass a config when none is given and there is no config/rotator.json', () => {
    // Act
    const select = () =>
      selectDeploymentConfig(
        () => undefined,
        () => false,
      );

    // Assess
    expect(select).toThrow(DeploymentConfigNotGivenError);
    expect(select).toThrow(/^no deployment config: pass -c config=<path>, or write config\/rotator\.json/);
    expect(() => select()).not.toThrow(/\n/);
  });

  it('takes -c config=<path> first, then config/rotator.json; never falls back to the sample', () => {
    // Act
    const given = selectDeploymentConfig(
      (key) => (key === 'config' ? 'elsewhere.json' : undefined),
      () => true,
    );
    const local = selectDeploymentConfig(
      () => undefined,
      (path) => path === DEFAULT_CONFIG_PATH,
    );
    const sampleOnly = () =>
      selectDeploymentConfig(
        () => undefined,
        (path) => path.includes('sample'),
      );

    // Assess
    expect(given).toEqual({ path: 'elsewhere.json', allowSample: false });
    expect(local).toEqual({ path: 'config/rotator.json', allowSample: false });
    expect(sampleOnly).toThrow(DeploymentConfigNotGivenError);
  });

  it('reads -c allowSample=true (a string on the command line, a boolean in cdk.json) and refuses an empty -c config=', () => {
    // Act
    const fromCli = selectDeploymentConfig(
      (key) => ({ config: 'a.json', allowSample: 'true' })[key],
      () => false,
    );
    const fromJson = selectDeploymentConfig(
      (key) => ({ config: 'a.json', allowSample: true })[key],
      () => false,
    );
    const other = selectDeploymentConfig(
      (key) => ({ config: 'a.json', allowSample: 'yes' })[key],
      () => false,
    );

    // Assess
    expect([fromCli.allowSample, fromJson.allowSample, other.allowSample]).toEqual([true, true, false]);
    expect(() =>
      selectDeploymentConfig(
        (key) => (key === 'config' ? ' ' : undefined),
        () => true,
      ),
    ).toThrow(DeploymentConfigNotGivenError);
  });

  it('the sample synthesizes, but its template carries a CloudFormation rule that refuses to deploy it', () => {
    // Act
    const sample = synth().template;
    const allowed = synth({ allowSample: true }).template;
    const own = synth({ config: ownConfig() }).template;

    // Assess
    expect(loadDeploymentConfig(samplePath).sample).toBe(true);
    const rule = sample.Rules?.SampleConfigNotDeployable;
    expect(rule?.Assertions).toHaveLength(1);
    // Two different literals: the assertion can never hold, so CreateStack/UpdateStack fail on it.
    expect(rule?.Assertions[0]?.Assert).toEqual({ 'Fn::Equals': ['sample-config', 'deployable-config'] });
    expect(rule?.Assertions[0]?.AssertDescription).toMatch(/-c allowSample=true/);
    expect(allowed.Rules?.SampleConfigNotDeployable).toBeUndefined();
    expect(own.Rules?.SampleConfigNotDeployable).toBeUndefined();
  });
});

describe('Deploy: what a deleted stack leaves, and what a failed first deploy cleans up', () => {
  const { template } = synth();

  it('keeps the ledger (deletion-protected) and its key on delete and replacement', () => {
    // Assess
    expect(policiesOf(template, 'AWS::DynamoDB::Table')).toEqual(['Retain/Retain']);
    expect(ofType(template, 'AWS::DynamoDB::Table')[0]?.[1].Properties?.DeletionProtectionEnabled).toBe(true);
    expect(policiesOf(template, 'AWS::KMS::Key')).toEqual(['Retain/Retain']);
  });

  it('keeps the fingerprint key, except when the first deploy fails (RetainExceptOnCreate)', () => {
    // Assess
    expect(
      policiesOf(template, 'AWS::SecretsManager::Secret', (id) => /ManagedSecret|FingerprintKey/.test(id)),
    ).toEqual(['RetainExceptOnCreate/Retain']);
  });

  it('deletes the GitHub secrets, the queues and the registered-schedules group with the stack', () => {
    // Assess
    expect(policiesOf(template, 'AWS::SecretsManager::Secret', (id) => id.includes('GitHubWebhook'))).toEqual(
      ['Delete/Delete'],
    );
    expect(policiesOf(template, 'AWS::SQS::Queue')).toEqual(['Delete/Delete']);
    expect(policiesOf(template, 'AWS::Scheduler::ScheduleGroup')).toEqual(['Delete/Delete']);
  });

  it('keeps every log group (the audit trail) except after a failed first deploy', () => {
    // Assess
    // 12 functions' and the two workflows' execution logs.
    expect(ofType(template, 'AWS::Logs::LogGroup')).toHaveLength(14);
    expect(policiesOf(template, 'AWS::Logs::LogGroup')).toEqual(['RetainExceptOnCreate/Retain']);
  });

  it("puts the execution log under /aws/vendedlogs/states/, named after the stack and its stack id's unique part", () => {
    // Prepare
    const [, executionLogs] =
      ofType(template, 'AWS::Logs::LogGroup').find(([id]) => id.includes('ExecutionLogs')) ?? [];

    // Assess
    expect(executionLogs?.Properties?.LogGroupName).toEqual({
      'Fn::Join': [
        '',
        [
          '/aws/vendedlogs/states/StytchM2MRotator-rotation-',
          { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] },
        ],
      ],
    });
  });

  it('gives no resource that outlives its stack a fixed name (the managed secrets, read by name, are not the stack’s)', () => {
    // Act: every retained resource that has a name of ours (not one CloudFormation generates).
    const named = Object.entries(template.Resources)
      .filter(([, resource]) => (resource.DeletionPolicy ?? 'Delete') !== 'Delete')
      .map(([id, resource]) => [id, fixedNameOf(resource)] as const)
      .filter(([, name]) => name !== undefined && !JSON.stringify(name).includes('AWS::StackId'));

    // Assess
    expect(named).toEqual([]);
  });

  it('with removalPolicy DESTROY leaves nothing behind: every resource deleted, no deletion protection', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new RotatorStack(app, 'Ephemeral', {
      config: loadDeploymentConfig(samplePath),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Act
    const ephemeral = Template.fromStack(stack).toJSON() as TemplateJson;

    // Assess
    const kept = Object.entries(ephemeral.Resources).filter(
      ([, resource]) => (resource.DeletionPolicy ?? 'Delete') !== 'Delete',
    );
    expect(kept.map(([id]) => id)).toEqual([]);
    expect(ofType(ephemeral, 'AWS::DynamoDB::Table')[0]?.[1].Properties?.DeletionProtectionEnabled).toBe(
      false,
    );
  });
});

/** The physical name a resource is given in the template, by the name property of its type. */
function fixedNameOf(resource: Resource): unknown {
  const property = NAME_PROPERTIES[resource.Type];
  return property === undefined ? undefined : resource.Properties?.[property];
}
const NAME_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
};

describe('Deploy: feature flags', () => {
  const cdkJson = JSON.parse(readFileSync(`${repoRoot}cdk.json`, 'utf8')) as {
    context: Record<string, unknown>;
  };
  const recommended = JSON.parse(
    readFileSync(`${repoRoot}node_modules/aws-cdk-lib/recommended-feature-flags.json`, 'utf8'),
  ) as Record<string, unknown>;

  it('cdk.json sets every flag this aws-cdk-lib recommends, to its recommended value', () => {
    // Assess
    expect(Object.keys(recommended).length).toBeGreaterThan(80);
    for (const [flag, value] of Object.entries(recommended))
      expect([flag, cdkJson.context[flag]]).toEqual([flag, value]);
  });

  it('with those flags the stack passes cdk-nag, and every policy grants exactly what it grants without them', () => {
    // Act
    const withFlags = synth({}, cdkJson.context);
    const without = synth();
    const report = new AwsSolutionsChecks(withFlags.app).validateScope(withFlags.app);

    // Assess: @aws-cdk/aws-iam:minimizePolicies merges and sorts statements; the grants stay the same.
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(Object.keys(withFlags.template.Resources).sort()).toEqual(
      Object.keys(without.template.Resources).sort(),
    );
    for (const [id, resource] of Object.entries(without.template.Resources)) {
      const flagged = withFlags.template.Resources[id];
      expect([id, atomicGrants(flagged)]).toEqual([id, atomicGrants(resource)]);
      expect([id, withoutPolicies(flagged)]).toEqual([id, withoutPolicies(resource)]);
    }
  });
});

/** Every policy document of a resource as sorted (effect, principal, action, resource, condition) tuples. */
function atomicGrants(resource: Resource | undefined): string[] {
  const documents: unknown[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (Array.isArray(record.Statement)) documents.push(record);
      else Object.values(record).forEach(collect);
    }
  };
  collect(resource?.Properties);
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  const tuples = new Set<string>();
  for (const document of documents as { Statement: Record<string, unknown>[] }[]) {
    for (const statement of document.Statement) {
      const { Effect, Principal, Condition } = statement;
      for (const principal of principals(Principal)) {
        for (const action of list(statement.Action ?? statement.NotAction)) {
          for (const target of list(statement.Resource ?? statement.NotResource)) {
            tuples.add(JSON.stringify([Effect, principal, action, target, Condition]));
          }
        }
      }
    }
  }
  return [...tuples].sort();
}

/** A statement's principals one by one (`{"AWS": [a, b]}` is a and b). */
function principals(principal: unknown): unknown[] {
  if (principal === undefined || typeof principal !== 'object' || principal === null) return [principal];
  return Object.entries(principal).flatMap(([kind, values]) =>
    (Array.isArray(values) ? values : [values]).map((value) => [kind, value]),
  );
}

/** A resource with its policy documents taken out: what must not change at all. */
function withoutPolicies(resource: Resource | undefined): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.Statement)) return 'policy document';
    return Object.fromEntries(
      Object.entries(record)
        .filter(([key]) => key !== 'Metadata')
        .map(([k, v]) => [k, strip(v)]),
    );
  };
  return strip(resource);
}
