/** `npm run migrate`: applies pending migrations and exits. */
import { loadConfig } from './config/env.ts';
import { openDatabase } from './db/client.ts';
import { migrateToLatest } from './db/migrator.ts';

const config = loadConfig();
const database = await openDatabase({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolSize: 2,
  connectTimeoutMs: config.databaseConnectTimeoutMs,
});
try {
  const applied = await migrateToLatest(database.db);
  process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
} finally {
  await database.close();
}
