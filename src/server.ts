/**
 * Starting and stopping a whole Portcullis process: open the database, migrate, wire, bootstrap, listen;
 * on stop, finish in-flight requests, flush the audit queue and close the pool. main.ts and the tests
 * that need a real process-like server both use it.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.ts';
import { bootstrap, type BootstrapResult } from './bootstrap.ts';
import type { Config } from './config/env.ts';
import { createContainer, type Container } from './container.ts';
import { openDatabase } from './db/client.ts';
import { migrateToLatest } from './db/migrator.ts';
import { loadMasterKey } from './keys/master-key.ts';
import { startMaintenance } from './maintenance.ts';

export interface RunningServer {
  readonly container: Container;
  readonly server: Server;
  readonly url: string;
  readonly bootstrap: BootstrapResult;
  stop(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<RunningServer> {
  const { masterKey, devFile, generated } = loadMasterKey(config.masterKey, config.dataDir);
  if (devFile) {
    logger.warn(
      { file: devFile, generated },
      'PORTCULLIS_MASTER_KEY is not set: using a development key file. Set PORTCULLIS_MASTER_KEY in production.',
    );
  }
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    preparedStatements: config.databasePreparedStatements,
  });
  if (database.kind === 'pglite') logger.warn({ dataDir: config.dataDir }, 'DATABASE_URL is not set: using embedded PGlite (one process only)');
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const container = createContainer({ config, database, masterKey, logger });
  // The IPv4 geolocation data (about 63 MB for the bundled DB-IP file) is read now, not by the first sign-in.
  await container.geo.preload();
  const result = await bootstrap(container);
  const app = buildApp(container);
  container.health.start();
  const maintenance = startMaintenance({
    db: database.db,
    signingKeys: container.signingKeys,
    logger,
    signIn: { history: container.signInHistory, counters: container.failureCounters },
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, '0.0.0.0', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      maintenance.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await container.close();
      await database.close();
    })());

  return { container, server, url: `http://127.0.0.1:${port}`, bootstrap: result, stop };
}
