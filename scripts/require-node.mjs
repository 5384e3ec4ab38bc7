#!/usr/bin/env node
// The `rotator` executable (bin/rotator.mjs) runs this first so that an old Node stops with one
// line, not a stack trace from deep inside a dependency (undici 8 and commander 15 need Node 22).
// It only checks: an installed CLI must not fetch a Node. In the repository, npm start/test/bench
// bring in a supported Node instead (scripts/with-node.mjs).
// Written in plain, old JavaScript on purpose: it must parse on any Node that can run npm.
// 22 = package.json engines.node and .nvmrc (test/unit/scripts/nodeBootstrap.test.ts keeps them equal).
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
