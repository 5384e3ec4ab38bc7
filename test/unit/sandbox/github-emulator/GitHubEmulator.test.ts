import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_ADMIN_PATH, GitHubEmulator, GitHubEmulatorError } from '#sandbox/github-emulator/index.js';

// The emulator's admin route, as a person drives it from a shell: plain fetch over loopback.

const STAGED = 'stagedSecretValue_0123456789abcdefghijABCDEFGHIJ';

let github: GitHubEmulator;
/** Every answer the tests saw: none may carry a staged secret (checked last). */
const answers: string[] = [];

beforeAll(async () => {
  github = await GitHubEmulator.start();
});

afterAll(async () => {
  await github.close();
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function send(method: string, path: string, body?: string): Promise<Answer> {
  const response = await fetch(`${github.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  answers.push(text);
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

function stage(input: unknown): Promise<Answer> {
  return send('POST', '/__emulator/alerts', JSON.stringify(input));
}

async function fetchAlert(repository: string, number: number): Promise<Answer> {
  const response = await fetch(`${github.url}/repos/${repository}/secret-scanning/alerts/${number}`, {
    headers: { authorization: `Bearer ${github.token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('Class: GitHubEmulator', () => {
  describe('POST /__emulator/alerts (stage an alert from outside)', () => {
    it('stores the alert under the number given and answers 201 {number}; the API then serves it', async () => {
      // Act
      const answer = await stage({
        repository: 'acme/shell-staged',
        number: 42,
        secret: STAGED,
        secret_type: 'stytch_m2m_client_secret',
      });
      const served = await fetchAlert('acme/shell-staged', 42);

      // Assess
      expect(ALERTS_ADMIN_PATH).toBe('/__emulator/alerts');
      expect(answer).toEqual({ status: 201, body: { number: 42 } });
      expect(served.status).toBe(200);
      expect(served.body).toMatchObject({
        number: 42,
        secret: STAGED,
        secret_type: 'stytch_m2m_client_secret',
        state: 'open',
        html_url: 'https://github.com/acme/shell-staged/security/secret-scanning/42',
      });
    });

    it('numbers an alert staged without a number after the highest one of its repository', async () => {
      // Prepare
      await stage({ repository: 'acme/numbering', number: 5, secret: STAGED });

      // Act
      const next = await stage({ repository: 'acme/numbering', secret: `${STAGED}-2` });
      const added = github.addAlert({ repository: 'acme/numbering', secret: `${STAGED}-3` });

      // Assess
      expect(next).toEqual({ status: 201, body: { number: 6 } });
      expect(added.number).toBe(7);
      expect((await fetchAlert('acme/numbering', 6)).body).toMatchObject({
        secret: `${STAGED}-2`,
        secret_type: 'stytch_m2m_client_secret',
      });
    });

    it('answers 200 to the same alert staged again (a script run twice), and 409 to another secret', async () => {
      // Prepare
      const input = { repository: 'acme/idempotent', number: 3, secret: STAGED };
      await stage(input);

      // Act
      const again = await stage(input);
      const anotherCase = await stage({ ...input, repository: 'ACME/Idempotent' });
      const conflicting = await stage({ ...input, secret: `${STAGED}-other` });

      // Assess
      expect(again).toEqual({ status: 200, body: { number: 3 } });
      expect(anotherCase).toEqual({ status: 200, body: { number: 3 } });
      expect(conflicting.status).toBe(409);
      expect(conflicting.body.message).toBe(
        'alert #3 of acme/idempotent already exists with another secret or secret_type; stage another number',
      );
      expect((await fetchAlert('acme/idempotent', 3)).body).toMatchObject({ secret: STAGED });
    });

    it.each([
      ['not JSON', '{"repository":', 'the body must be a JSON object'],
      ['a JSON array', '[]', 'the body must be a JSON object'],
      ['empty', '', 'the body must be a JSON object'],
      [
        'without a repository',
        JSON.stringify({ secret: STAGED }),
        'repository must be "owner/name" (A-Z a-z 0-9 . _ -)',
      ],
      [
        'with a repository that is not owner/name',
        JSON.stringify({ repository: 'acme', secret: STAGED }),
        'repository must be "owner/name" (A-Z a-z 0-9 . _ -)',
      ],
      [
        'with a path in the repository',
        JSON.stringify({ repository: '../../etc', secret: STAGED }),
        'repository must be "owner/name" (A-Z a-z 0-9 . _ -)',
      ],
      [
        'with number 0',
        JSON.stringify({ repository: 'acme/x', number: 0, secret: STAGED }),
        'number must be an integer from 1 to 999999999',
      ],
      [
        'with a fractional number',
        JSON.stringify({ repository: 'acme/x', number: 1.5, secret: STAGED }),
        'number must be an integer from 1 to 999999999',
      ],
      [
        'with the number as a string',
        JSON.stringify({ repository: 'acme/x', number: '7', secret: STAGED }),
        'number must be an integer from 1 to 999999999',
      ],
      [
        'with a number beyond the API path',
        JSON.stringify({ repository: 'acme/x', number: 1_000_000_000, secret: STAGED }),
        'number must be an integer from 1 to 999999999',
      ],
      [
        'without a secret',
        JSON.stringify({ repository: 'acme/x' }),
        'secret must be a string of 1 to 4096 characters',
      ],
      [
        'with an empty secret',
        JSON.stringify({ repository: 'acme/x', secret: '' }),
        'secret must be a string of 1 to 4096 characters',
      ],
      [
        'with a secret_type that is not a slug',
        JSON.stringify({ repository: 'acme/x', secret: STAGED, secret_type: 'a b' }),
        'secret_type must be 1 to 100 characters of a-z A-Z 0-9 _ . -',
      ],
      [
        'with an unknown field (a typo)',
        JSON.stringify({ repository: 'acme/x', secret: STAGED, secretType: 'x' }),
        'unknown field "secretType" (the fields are repository, number, secret, secret_type)',
      ],
    ])('answers 400 to a body %s, saying what is wrong', async (_case, body, message) => {
      // Act
      const answer = await send('POST', '/__emulator/alerts', body);

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain(message);
    });

    it('names every problem of a body at once', async () => {
      // Act
      const answer = await stage({ repository: 'nope', number: -1, secret: 7 });

      // Assess
      expect(answer).toEqual({
        status: 400,
        body: {
          message:
            'Invalid alert: repository must be "owner/name" (A-Z a-z 0-9 . _ -); ' +
            'number must be an integer from 1 to 999999999; secret must be a string of 1 to 4096 characters',
        },
      });
    });

    it('answers 413 to a body over 64 KiB', async () => {
      // Act
      const answer = await send(
        'POST',
        '/__emulator/alerts',
        JSON.stringify({ repository: 'acme/x', secret: 'x'.repeat(70_000) }),
      );

      // Assess
      expect(answer.status).toBe(413);
    });

    it('answers 405 to another method on the route', async () => {
      // Act
      const answer = await send('GET', '/__emulator/alerts');

      // Assess
      expect(answer).toEqual({ status: 405, body: { message: 'Method Not Allowed: POST only' } });
    });

    it('keeps admin requests out of the request log, which counts the API calls the receiver makes', async () => {
      // Prepare
      github.clearRequestLog();

      // Act
      await stage({ repository: 'acme/quiet', secret: STAGED });
      await fetchAlert('acme/quiet', 1);

      // Assess
      expect(github.requestLog()).toEqual([
        {
          seq: expect.any(Number),
          method: 'GET',
          path: '/repos/acme/quiet/secret-scanning/alerts/1',
          status: 200,
          authorized: true,
        },
      ]);
    });
  });

  describe('Method: addAlert', () => {
    it('refuses a number already staged with another secret', () => {
      // Prepare
      github.addAlert({ repository: 'acme/direct', number: 9, secret: STAGED });

      // Act
      const act = () => github.addAlert({ repository: 'acme/direct', number: 9, secret: `${STAGED}-x` });

      // Assess
      expect(act).toThrow(GitHubEmulatorError);
      expect(act).toThrow(/alert #9 of acme\/direct already exists/);
    });
  });

  it('never echoes a staged secret in an admin answer', () => {
    // Assess
    expect(answers.length).toBeGreaterThan(15);
    expect(answers.join('\n')).not.toContain(STAGED);
  });
});
