import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cannotInstallLine,
  chooseNode,
  environmentWith,
  installEnvironment,
  installingLine,
  majorOf,
  npmFailureReason,
  npmInvocation,
  REPO_ROOT,
  readRequiredMajor,
  requiredMajorOf,
} from '../../../scripts/node-bootstrap.mjs';

describe('the Node version scripts/with-node.mjs needs', () => {
  it('reads the major of a Node version, with or without its v', () => {
    expect(majorOf('v20.20.2')).toBe(20);
    expect(majorOf('22.1.0')).toBe(22);
    expect(majorOf('not a version')).toBeNaN();
  });

  it('reads it from package.json engines, which .nvmrc and the rotator check repeat', () => {
    // Prepare
    const nvmrc = readFileSync(join(REPO_ROOT, '.nvmrc'), 'utf8').trim();
    const check = readFileSync(join(REPO_ROOT, 'scripts/require-node.mjs'), 'utf8');

    // Act
    const required = readRequiredMajor();

    // Assess
    expect(required).toBe(22);
    expect(nvmrc).toBe(String(required));
    expect(check).toContain(`const REQUIRED_MAJOR = ${required};`);
  });

  it('accepts only a ">=N" engines range', () => {
    expect(requiredMajorOf('>=22')).toBe(22);
    expect(requiredMajorOf('>= 22.11.0')).toBe(22);
    expect(() => requiredMajorOf('^22')).toThrow(/engines.node must read ">=N"/);
    expect(() => requiredMajorOf(undefined)).toThrow(/engines.node/);
  });
});

describe('which Node runs the command', () => {
  it.each([
    ['22.1.0', null, 'running'],
    ['24.0.0', '22.23.3', 'running'],
    ['20.20.2', '22.23.3', 'installed'],
    ['20.20.2', null, 'install'],
    ['20.20.2', '20.1.0', 'install'],
    ['18.0.0', 'garbage', 'install'],
  ] as const)('running %s, installed %s: %s', (running, installed, expected) => {
    expect(chooseNode(running, installed, 22)).toBe(expected);
  });
});

describe('what it says', () => {
  it('announces an install in one line: the Node found, the one installed, where, once', () => {
    const line = installingLine('20.20.2', 22, '.ci/.node');
    expect(line).toBe(
      'stytch-m2m-rotator: Node v20.20.2 is older than 22: installing Node 22 from the npm registry ' +
        'into .ci/.node (once; later runs use it)',
    );
  });

  it('says what to install, in one line, when it cannot install', () => {
    const line = cannotInstallLine('20.20.2', 22, 'npm install: ENOTFOUND');
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^stytch-m2m-rotator: Node v20\.20\.2 is older than 22 and Node 22 could not be/);
    expect(line).toContain('(npm install: ENOTFOUND)');
    expect(line).toContain('install Node 22 or newer');
    expect(line).toContain('.nvmrc');
  });

  it("keeps npm's error code from its output, or its exit status", () => {
    const output = 'npm error code ENOTFOUND\nnpm error syscall getaddrinfo\nnpm error errno ENOTFOUND\n';
    expect(npmFailureReason(output, 1)).toBe('npm install: ENOTFOUND');
    expect(npmFailureReason('npm ERR! code E404\n', 1)).toBe('npm install: E404');
    expect(npmFailureReason('', 137)).toBe('npm install exited with 137');
  });
});

describe('how it runs npm and the command', () => {
  it('installs with the npm that started it, else npm from PATH', () => {
    const cli = '/usr/lib/node_modules/npm/bin/npm-cli.js';
    expect(npmInvocation({ npm_execpath: cli }, '/usr/bin/node')).toEqual({
      command: '/usr/bin/node',
      args: [cli],
    });
    expect(
      npmInvocation({ npm_execpath: '/usr/lib/node_modules/pnpm/bin/pnpm.cjs' }, '/usr/bin/node'),
    ).toEqual({
      command: 'npm',
      args: [],
    });
    expect(npmInvocation({}, '/usr/bin/node')).toEqual({ command: 'npm', args: [] });
  });

  it("installs without the running npm's lifecycle variables, keeping its settings", () => {
    const env = installEnvironment({
      PATH: '/usr/bin',
      npm_lifecycle_event: 'start',
      npm_package_name: 'stytch-m2m-rotator',
      npm_command: 'start',
      npm_config_registry: 'https://registry.example/',
    });
    expect(env).toEqual({ PATH: '/usr/bin', npm_config_registry: 'https://registry.example/' });
  });

  it('puts the Node it brought in first on PATH, and in the variables npm sets for the Node', () => {
    const env = environmentWith('/repo/.ci/.node/node_modules/.bin', {
      PATH: '/usr/bin:/bin',
      NODE: '/usr/bin/node',
      npm_node_execpath: '/usr/bin/node',
      HOME: '/home/me',
    });
    expect(env).toEqual({
      PATH: '/repo/.ci/.node/node_modules/.bin:/usr/bin:/bin',
      NODE: '/repo/.ci/.node/node_modules/.bin/node',
      npm_node_execpath: '/repo/.ci/.node/node_modules/.bin/node',
      HOME: '/home/me',
    });
  });
});
