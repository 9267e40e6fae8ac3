/**
 * `npm run cli -- <command>`: the admin services without HTTP, for scripts and first setup.
 *   tenant create <id> <displayName>      tenant list
 *   client create <tenant> '<DCR JSON>'   client list <tenant>
 *   user create <tenant> --username u [--password p] [--email e] [--given-name g] [--family-name f]
 *   keys rotate <tenant>
 * Output is JSON on stdout; errors go to stderr with exit code 1 (2 for usage).
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from './config/env.ts';
import { createContainer, type Container } from './container.ts';
import { openDatabase } from './db/client.ts';
import { migrateToLatest } from './db/migrator.ts';
import { parseWith } from './http/validate.ts';
import { createUserSchema } from './identity/user-schemas.ts';
import { loadMasterKey } from './keys/master-key.ts';
import { AppError } from './lib/errors.ts';
import { clientMetadataSchema } from './oidc/client-schemas.ts';
import { TTL } from './oidc/provider-factory.ts';
import { createTenantSchema } from './tenants/tenant-service.ts';

const USAGE = `usage:
  cli tenant create <id> <displayName>
  cli tenant list
  cli client create <tenant> '<client metadata JSON>'
  cli client list <tenant>
  cli user create <tenant> --username <u> [--password <p>] [--email <e>] [--given-name <g>] [--family-name <f>]
  cli keys rotate <tenant>`;

const ACTOR = { actor: 'admin:cli' };

async function run(c: Container, argv: string[]): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      username: { type: 'string' },
      password: { type: 'string' },
      email: { type: 'string' },
      'given-name': { type: 'string' },
      'family-name': { type: 'string' },
    },
  });
  const [noun, verb, ...rest] = positionals;
  switch (`${noun ?? ''} ${verb ?? ''}`) {
    case 'tenant create':
      return c.tenants.create(parseWith(createTenantSchema, { id: rest[0], displayName: rest[1] ?? rest[0] }), ACTOR);
    case 'tenant list':
      return c.tenants.list({ limit: 200 });
    case 'client create': {
      let metadata: unknown;
      try {
        metadata = JSON.parse(rest[1] ?? '{}');
      } catch {
        throw new AppError('invalid_request', 400, 'client metadata must be JSON');
      }
      return c.clients.register(await tenant(c, rest[0]), parseWith(clientMetadataSchema, metadata), ACTOR);
    }
    case 'client list':
      return c.clients.list(await tenant(c, rest[0]), { limit: 200 });
    case 'user create':
      return c.userService.create(
        await tenant(c, rest[0]),
        parseWith(createUserSchema, {
          username: values.username,
          password: values.password,
          email: values.email,
          givenName: values['given-name'],
          familyName: values['family-name'],
        }),
        ACTOR,
      );
    case 'keys rotate':
      return { active: await c.tenants.rotateKeys(await tenant(c, rest[0]), 2 * TTL.AccessToken, ACTOR) };
    default:
      process.stderr.write(USAGE + '\n');
      process.exit(2);
  }
}

async function tenant(c: Container, id: string | undefined): Promise<string> {
  return (await c.tenants.get(id ?? '')).id;
}

const config = loadConfig();
const logger = pino({ level: 'warn' }, pino.destination(2));
const { masterKey } = loadMasterKey(config.masterKey, config.dataDir);
const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, connectTimeoutMs: config.databaseConnectTimeoutMs });
let code = 0;
try {
  await migrateToLatest(database.db);
  const container = createContainer({ config, database, masterKey, logger });
  try {
    process.stdout.write(JSON.stringify(await run(container, process.argv.slice(2)), null, 2) + '\n');
  } finally {
    await container.close();
  }
} catch (error) {
  const message = error instanceof AppError && error.expose ? `${error.code}: ${error.message}` : String(error);
  process.stderr.write(`error: ${message}\n`);
  code = 1;
} finally {
  await database.close();
}
process.exitCode = code;
