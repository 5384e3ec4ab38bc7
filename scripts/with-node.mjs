#!/usr/bin/env node
// `node scripts/with-node.mjs <command> [args…]`: runs the command under a supported Node (the
// entry of `npm start`, `npm test` and `npm run bench`). On a Node older than package.json's
// engines it installs Node from the npm registry into .ci/.node once, saying so in one line on
// stderr, then runs the command with that Node first on PATH. The command gets this process's
// stdio, its SIGINT/SIGTERM/SIGHUP, and this process ends as the command ends (its exit code, or
// its signal). `--bin-dir` prints the directory of that Node instead (.ci/run puts it on PATH).
//
// Plain, old JavaScript on purpose: see scripts/node-bootstrap.mjs.
import { spawn } from 'child_process';
import { ensureNode, environmentWith, readRequiredMajor } from './node-bootstrap.mjs';

const argv = process.argv.slice(2);
if (argv.length === 0) {
  process.stderr.write('usage: node scripts/with-node.mjs <command> [args...] | --bin-dir\n');
  process.exit(2);
}

const node = ensureNode({
  env: process.env,
  runningVersion: process.versions.node,
  execPath: process.execPath,
  requiredMajor: readRequiredMajor(),
  say: (line) => process.stderr.write(line + '\n'),
});
if (node.error) {
  process.stderr.write(node.error + '\n');
  process.exit(2);
}
if (argv[0] === '--bin-dir') {
  process.stdout.write(node.binDir + '\n');
  process.exit(0);
}

const child = spawn(argv[0], argv.slice(1), {
  stdio: 'inherit',
  env: node.bootstrapped ? environmentWith(node.binDir, process.env) : process.env,
});

// A signal sent to this process (npm passes SIGINT/SIGTERM on to it) goes to the command, which
// decides how to stop; this process ends when the command does.
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const relay = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of forwarded) process.on(signal, relay);

child.on('error', (error) => {
  process.stderr.write('stytch-m2m-rotator: cannot run ' + argv[0] + ' (' + error.code + ')\n');
  process.exit(2);
});
child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Ended by a signal: end by the same one, so whoever waits on this process sees it.
    for (const name of forwarded) process.removeListener(name, relay);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
