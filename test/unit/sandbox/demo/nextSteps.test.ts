import { describe, expect, it } from 'vitest';
import { nextSteps } from '#sandbox/demo/runDemo.js';

describe('nextSteps (what npm start says at the end, on stderr)', () => {
  it('without --keep, says how to keep it running and which env the CLI then needs', () => {
    // Act
    const text = nextSteps({
      keep: false,
      clientId: 'm2m-client-test-billing-worker',
      stackName: 'StytchM2MRotator',
    });

    // Assess
    expect(text).toContain('npm start -- --keep');
    expect(text).toMatch(/AWS_ENDPOINT_URL, AWS_REGION, the operator’s access key, the ROTATOR_\* resources/);
    expect(text).toMatch(/^ {4}npx rotator status$/m);
    expect(text).toMatch(/^ {4}npx rotator history m2m-client-test-billing-worker$/m);
  });

  it('with --keep, points at the export lines (or --stack) and the commands to run with them', () => {
    // Act
    const text = nextSteps({
      keep: true,
      clientId: 'm2m-client-test-billing-worker',
      stackName: 'StytchM2MRotator',
    });

    // Assess
    expect(text).not.toContain('npm start -- --keep');
    expect(text).toContain('paste the export lines above');
    expect(text).toContain('--stack StytchM2MRotator');
    expect(text).toMatch(
      /^ {4}npx rotator rotate m2m-client-test-billing-worker --reason "trying it" --wait$/m,
    );
  });
});
