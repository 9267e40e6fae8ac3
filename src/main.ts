/** Process entry: configuration, server, first-start banner, graceful shutdown on SIGTERM/SIGINT. */
import './runtime-flags.ts';
import { pino } from 'pino';
import { loadConfig } from './config/env.ts';
import { startServer } from './server.ts';

const config = loadConfig();
const logger = pino({ level: config.logLevel });
const running = await startServer(config, logger);
logger.info({ url: config.publicUrl, port: config.port }, 'Portcullis is listening');

const { adminToken, demo } = running.bootstrap;
if (adminToken || demo) {
  const lines = ['', '  Portcullis is ready.', ''];
  if (adminToken) lines.push(`  Admin API token (shown once, store it now): ${adminToken}`, '');
  if (demo) {
    lines.push(
      `  Demo tenant:   ${config.publicUrl}/t/demo/.well-known/openid-configuration`,
      `  Demo user:     ${demo.username} / ${demo.password}`,
      `  Try a sign-in: ${demo.authorizationUrl}`,
      `  Then exchange the code: ${demo.tokenCommand}`,
      '',
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
