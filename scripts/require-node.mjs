#!/usr/bin/env node
// Every entry point runs this first so that an old Node stops with one line, not a stack trace
// from deep inside a dependency (aws-local-stepfunctions, undici 8 and commander 15 need Node 22).
// Written in plain, old JavaScript on purpose: it must parse on any Node that can run npm.
const REQUIRED_MAJOR = 22;
const found = process.versions.node;
const major = Number(found.split('.')[0]);
if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    'stytch-m2m-rotator: found Node v' +
      found +
      ', needs Node >= ' +
      REQUIRED_MAJOR +
      ' (see README "Prerequisites")\n',
  );
  process.exit(1);
}
