import { createServer } from 'node:net';

/**
 * A loopback port nothing listens on: one the OS just handed out and that is closed again. Not
 * port 1: fetch refuses the spec's "bad ports" (1, 7, 9, ...) before connecting, so a Stytch URL on
 * such a port fails as "bad port", not as the ECONNREFUSED a stopped service gives.
 */
export async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port was assigned');
  return address.port;
}
