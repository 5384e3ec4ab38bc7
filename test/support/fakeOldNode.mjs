// Preloaded with `node --import` to make a Node 22 process report an old version, so the
// "found Node vX, needs Node >= 22" guard can be tested on a machine that only has new Node.
Object.defineProperty(process.versions, 'node', { value: '20.1.0' });
