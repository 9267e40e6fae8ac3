/**
 * The "bare express" baseline: the same request the token benchmark sends (form body, Basic header)
 * answered by express 5 with a small JSON body, no middleware beyond the body parser. It shows what the
 * HTTP stack alone costs on this machine, so our overhead above it is visible.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { workerChannel } from './lib/processes.ts';

const channel = workerChannel();
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/hello', express.urlencoded({ extended: false }), (req, res) => {
  res.json({ hello: 'world', grant_type: (req.body as Record<string, string | undefined>).grant_type ?? null });
});
const server = app.listen(0, '127.0.0.1', () => {
  server.keepAliveTimeout = 65_000;
  channel.ready((server.address() as AddressInfo).port);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
