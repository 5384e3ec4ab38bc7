import { describe, expect, it } from 'vitest';
import {
  ClientsFileError,
  MAX_CLIENTS_FILE_ENTRIES,
  type ParsedClientsFile,
  parseClientsFile,
} from '#core/clientsFile.js';
import { RotatorError } from '#core/errors.js';

/** The problems `parseClientsFile` throws for `text`, or fails the test when it does not throw. */
function problemsOf(text: string, source = 'clients.yaml'): readonly string[] {
  try {
    parseClientsFile(text, source);
  } catch (error) {
    expect(error).toBeInstanceOf(ClientsFileError);
    return (error as ClientsFileError).problems;
  }
  throw new Error('expected the clients file to be refused');
}

const YAML_FILE = `# Clients of the billing team
clients:
  - name: billing
    scopes: [read:invoices, write:invoices]
    schedule:
      expression: rate(30 days)
      timeZone: Europe/Berlin
    policy:
      expectedConsumers: [billing-api]

  - clientId: m2m-client-test-reporting
`;

const JSON_FILE = `{
  "clients": [
    {
      "name": "billing",
      "scopes": ["read:invoices", "write:invoices"],
      "schedule": { "expression": "rate(30 days)", "timeZone": "Europe/Berlin" },
      "policy": { "expectedConsumers": ["billing-api"] }
    },
    { "clientId": "m2m-client-test-reporting" }
  ]
}
`;

describe('Function: parseClientsFile', () => {
  describe('a valid file', () => {
    it('reads the entries of a YAML file with the line each starts on', () => {
      // Act
      const parsed = parseClientsFile(YAML_FILE, 'clients.yaml');

      // Assess
      expect(parsed.notes).toEqual([]);
      expect(parsed.entries.map(({ line, index }) => ({ line, index }))).toEqual([
        { line: 3, index: 0 },
        { line: 11, index: 1 },
      ]);
      expect(parsed.entries[0]?.spec).toEqual({
        name: 'billing',
        kind: 'm2m',
        scopes: ['read:invoices', 'write:invoices'],
        schedule: { expression: 'rate(30 days)', timeZone: 'Europe/Berlin' },
        policy: { expectedConsumers: ['billing-api'] },
      });
    });

    it('reads the same entries from the same file as JSON, with its own lines', () => {
      // Act
      const fromYaml = parseClientsFile(YAML_FILE, 'clients.yaml');
      const fromJson = parseClientsFile(JSON_FILE, 'clients.json');

      // Assess
      expect(fromJson.entries.map((entry) => entry.spec)).toEqual(
        fromYaml.entries.map((entry) => entry.spec),
      );
      expect(fromJson.entries.map((entry) => entry.line)).toEqual([3, 9]);
    });

    it('fills the defaults: kind m2m, time zone UTC, no expected consumers, the client id as name', () => {
      // Prepare
      const text = `clients:
  - clientId: m2m-client-test-a
    schedule:
      expression: rate(7 days)
  - name: reports
    clientId: connected-app-test-b
    kind: connected_app
`;

      // Act
      const { entries } = parseClientsFile(text, 'clients.yaml');

      // Assess
      expect(entries.map((entry) => entry.spec)).toEqual([
        {
          name: 'm2m-client-test-a',
          clientId: 'm2m-client-test-a',
          kind: 'm2m',
          schedule: { expression: 'rate(7 days)', timeZone: 'UTC' },
          policy: { expectedConsumers: [] },
        },
        {
          name: 'reports',
          clientId: 'connected-app-test-b',
          kind: 'connected_app',
          policy: { expectedConsumers: [] },
        },
      ]);
    });

    it.each([
      ['YAML', 'clients: []\n'],
      ['JSON', '{ "clients": [] }'],
    ])('takes an empty %s list as "no clients"', (_format, text) => {
      expect(parseClientsFile(text, 'clients')).toEqual<ParsedClientsFile>({ entries: [], notes: [] });
    });

    it('expands anchors and aliases', () => {
      // Prepare
      const text = `clients:
  - name: a
    scopes: [read:x]
    policy: &shared
      expectedConsumers: [api]
  - name: b
    scopes: [read:x]
    policy: *shared
`;

      // Act
      const { entries } = parseClientsFile(text, 'clients.yaml');

      // Assess
      expect(entries[1]?.spec.policy).toEqual({ expectedConsumers: ['api'] });
    });
  });

  describe('a deployment config', () => {
    const CONFIG = `{
  "sample": true,
  "stytch": { "projectCredentialsSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf" },
  "secretPrefix": "stytch/m2m",
  "clients": [
    { "clientId": "m2m-client-test-a", "schedule": { "expression": "rate(30 days)" } },
    { "clientId": "connected-app-test-b", "kind": "connected_app" }
  ]
}
`;

    it('reads its clients and notes that its other settings stay where they are', () => {
      // Act
      const parsed = parseClientsFile(CONFIG, 'config/rotator.json');

      // Assess
      expect(parsed.entries.map((entry) => [entry.spec.name, entry.line])).toEqual([
        ['m2m-client-test-a', 6],
        ['connected-app-test-b', 7],
      ]);
      expect(parsed.notes).toEqual([
        'config/rotator.json: a deployment config: its clients are read, its other settings (sample, stytch, secretPrefix) stay in the deployment config',
      ]);
    });

    it('still refuses a key that is neither a clients file key nor a deployment config key', () => {
      // Act
      const problems = problemsOf(
        CONFIG.replace('"sample": true', '"sample": true, "region": "eu"'),
        'rotator.json',
      );

      // Assess
      expect(problems).toEqual(['rotator.json:2: region: unknown key (a clients file has "clients" only)']);
    });
  });

  describe('the shape of the file', () => {
    it.each([
      [
        'an empty file',
        '',
        'clients.yaml:1: (root): the file is empty (expected a mapping with a "clients" list)',
      ],
      [
        'a file of comments',
        '# nothing yet\n',
        'clients.yaml:1: (root): the file is empty (expected a mapping with a "clients" list)',
      ],
      [
        'a list',
        '\n- name: a\n',
        'clients.yaml:2: (root): expected a mapping with a "clients" list, got a list',
      ],
      [
        'a string',
        'clients\n',
        'clients.yaml:1: (root): expected a mapping with a "clients" list, got a string ("clients")',
      ],
      [
        'no clients key',
        '# clients\nversion: 1\n',
        'clients.yaml:2: version: unknown key (a clients file has "clients" only)',
      ],
      [
        'clients as a mapping',
        'clients:\n  billing: {}\n',
        'clients.yaml:1: clients: expected a list of clients, got a mapping',
      ],
      [
        'clients with no value',
        '\nclients:\n',
        'clients.yaml:2: clients: expected a list of clients, got nothing',
      ],
    ])('refuses %s', (_what, text, problem) => {
      expect(problemsOf(text)[0]).toBe(problem);
    });

    it('reports a missing clients key on the line of the mapping', () => {
      expect(problemsOf('# clients\nversion: 1\n')).toEqual([
        'clients.yaml:2: version: unknown key (a clients file has "clients" only)',
        'clients.yaml:2: clients: missing (expected a list of clients)',
      ]);
    });

    it(`refuses more than ${MAX_CLIENTS_FILE_ENTRIES} entries without validating them`, () => {
      // Prepare
      const text = `clients: [${'1, '.repeat(MAX_CLIENTS_FILE_ENTRIES)}1]`;

      // Act & Assess
      expect(problemsOf(text)).toEqual([`clients.yaml:1: clients: lists 20001 entries, at most 20000`]);
    });
  });

  describe('syntax errors', () => {
    it('reports a YAML syntax error on its line', () => {
      // Prepare
      const text = `clients:
  - name: a
    scopes: [read:a]
   kind: m2m
`;

      // Act & Assess
      expect(problemsOf(text)).toEqual(['clients.yaml:4: (syntax): Sequence item without - indicator']);
    });

    it('reports a JSON syntax error on its line', () => {
      // Prepare
      const text = `{
  "clients": [
    { "clientId": "a" }
    { "clientId": "b" }
  ]
}
`;

      // Act & Assess
      expect(problemsOf(text, 'clients.json')).toEqual([
        'clients.json:4: (syntax): Missing , or : between flow sequence items',
      ]);
    });

    it('reports a key given twice on the line of the second', () => {
      expect(problemsOf('clients: []\n\nclients: []\n')).toEqual([
        'clients.yaml:3: (syntax): Map keys must be unique',
      ]);
    });
  });

  describe('invalid entries', () => {
    it('reports every problem of every entry, each on the line of what is wrong', () => {
      // Prepare
      const text = `clients:
  - name: billing
    scopes: [read:invoices, read:invoices]
    colour: blue
    schedule:
      expression: rate(1 days)
      timeZone: Mars/Olympus
      jitter: 5
  - kind: saml
    clientId: m2m-client-test-x
  - clientId: connected-app-test-y
    kind: connected_app
    scopes: [read:a]
  - scopes: [read:a]
  - 42
  - clientId: m2m-client-test-z
    schedule:
      timeZone: UTC
  - name: reports
`;

      // Act
      const problems = problemsOf(text);

      // Assess
      expect(problems).toEqual([
        'clients.yaml:3: clients[0].scopes: must not repeat a scope',
        'clients.yaml:4: clients[0].colour: unknown key',
        'clients.yaml:6: clients[0].schedule.expression: use the singular unit for 1: rate(1 day)',
        'clients.yaml:7: clients[0].schedule.timeZone: unknown time zone "Mars/Olympus"',
        'clients.yaml:8: clients[0].schedule.jitter: unknown key',
        'clients.yaml:9: clients[1].kind: expected one of "m2m"|"connected_app"',
        'clients.yaml:13: clients[2].scopes: a Connected App has no M2M scopes',
        'clients.yaml:14: clients[3].name: missing: an entry needs a name or a clientId',
        'clients.yaml:15: clients[4]: expected object, received number',
        'clients.yaml:17: clients[5].schedule.expression: missing (expected string)',
        'clients.yaml:19: clients[6].scopes: missing: creating an M2M client needs scopes',
      ]);
    });

    it('reports the same problems in a JSON file, on its lines', () => {
      // Prepare
      const text = `{
  "clients": [
    {
      "name": "billing",
      "scopes": ["read:invoices"],
      "schedule": {
        "expression": "rate(30 days)",
        "timeZone": "Mars/Olympus"
      },
      "color": "blue"
    },
    { "clientId": "m2m-client-test-x", "kind": "saml" }
  ]
}
`;

      // Act & Assess
      expect(problemsOf(text, 'clients.json')).toEqual([
        'clients.json:8: clients[0].schedule.timeZone: unknown time zone "Mars/Olympus"',
        'clients.json:10: clients[0].color: unknown key',
        'clients.json:12: clients[1].kind: expected one of "m2m"|"connected_app"',
      ]);
    });

    it('reports a repeated name and a repeated client id on the later line, naming the earlier one', () => {
      // Prepare
      const text = `clients:
  - name: billing
    scopes: [read:a]
  - clientId: m2m-client-test-a
  - name: billing
    clientId: m2m-client-test-a
  - clientId: m2m-client-test-a
  - name: m2m-client-test-a
    scopes: [read:a]
`;

      // Act & Assess
      expect(problemsOf(text)).toEqual([
        'clients.yaml:5: clients[2].name: "billing" is already listed at line 2',
        'clients.yaml:6: clients[2].clientId: "m2m-client-test-a" is already listed at line 4',
        'clients.yaml:7: clients[3].clientId: "m2m-client-test-a" is already listed at line 4',
        'clients.yaml:8: clients[4].name: "m2m-client-test-a" is already listed at line 4',
      ]);
    });

    it('reports a repeat on an entry that has other problems too', () => {
      // Prepare
      const text = `clients:
  - name: billing
    scopes: [read:a]
  - name: billing
    kind: saml
`;

      // Act & Assess
      expect(problemsOf(text)).toEqual([
        'clients.yaml:4: clients[1].name: "billing" is already listed at line 2',
        'clients.yaml:5: clients[1].kind: expected one of "m2m"|"connected_app"',
      ]);
    });

    it('refuses an entry whose aliases expand too much', () => {
      // Prepare
      const ten = (alias: string) => `[${Array(10).fill(alias).join(', ')}]`;
      const text = `clients:
  - name: bomb
    scopes: [read:a]
    policy:
      a: &a [x, x, x, x, x, x, x, x, x, x]
      b: &b ${ten('*a')}
      c: &c ${ten('*b')}
      d: ${ten('*c')}
`;

      // Act
      const problems = problemsOf(text);

      // Assess
      expect(problems).toEqual([expect.stringMatching(/^clients\.yaml:2: clients\[0\]: .*alias/i)]);
    });
  });

  describe('what reaches the terminal', () => {
    it('lists at most 200 problems, in line order, and counts the rest', () => {
      // Prepare
      const entries = Array.from({ length: 300 }, (_, index) => `  - name: c${index}\n    kind: saml\n`);
      const text = `clients:\n${entries.join('')}`;

      // Act
      const problems = problemsOf(text);

      // Assess
      expect(problems).toHaveLength(201);
      expect(problems[0]).toBe('clients.yaml:3: clients[0].kind: expected one of "m2m"|"connected_app"');
      expect(problems[199]).toBe(
        'clients.yaml:401: clients[199].kind: expected one of "m2m"|"connected_app"',
      );
      expect(problems[200]).toBe('… and 100 more problems');
    });

    it('keeps control characters and long values of the file out of the messages', () => {
      // Prepare: an escape sequence in a value, in a key and in a repeated name, and a very long zone.
      const text = `clients:
  - name: a
    scopes: [read:a]
    schedule:
      expression: rate(30 days)
      timeZone: "Mars/\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\r\\nOlympus"
    "\\u001b[31mkey": 1
  - clientId: "\\u001b[31m"
  - name: b
    scopes: [read:a]
    schedule:
      expression: rate(30 days)
      timeZone: "${'x'.repeat(5000)}"
`;

      // Act
      let error: unknown;
      try {
        parseClientsFile(text, 'clients.yaml');
      } catch (caught) {
        error = caught;
      }

      // Assess
      const { problems, message } = error as ClientsFileError;
      expect(problems).toHaveLength(4);
      for (const problem of problems) {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting they are absent
        expect(problem).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        expect(problem.length).toBeLessThan(300);
      }
      expect(problems[0]).toMatch(
        /^clients\.yaml:6: clients\[0\]\.schedule\.timeZone: unknown time zone "Mars\//,
      );
      expect(problems[1]).toBe('clients.yaml:7: clients[0]["\\u001b[31mkey"]: unknown key');
      expect(problems[2]).toMatch(/^clients\.yaml:8: clients\[1\]\.clientId: /);
      expect(problems[3]).toMatch(
        /^clients\.yaml:13: clients\[2\]\.schedule\.timeZone: unknown time zone "x{80}"$/,
      );
      expect(message.split('\n')).toHaveLength(5);
    });
  });

  describe('Class: ClientsFileError', () => {
    it('is a RotatorError that names the file and lists each problem', () => {
      // Act
      const error = new ClientsFileError('clients.yaml', ['clients.yaml:1: a', 'clients.yaml:2: b']);

      // Assess
      expect(error).toBeInstanceOf(RotatorError);
      expect(error.name).toBe('ClientsFileError');
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(
        'Invalid clients file clients.yaml:\n- clients.yaml:1: a\n- clients.yaml:2: b',
      );
    });
  });
});
