/**
 * Configuration from the environment (src/config/env.ts): the database settings this file's cases cover
 * parse as documented, and a bad value stops the start with a message naming the variable.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.ts';

describe('DATABASE_PREPARED_STATEMENTS', () => {
  it('defaults to on, and an empty value means unset', () => {
    expect(loadConfig({}).databasePreparedStatements).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: '' }).databasePreparedStatements).toBe(true);
  });

  it('accepts false for a transaction-mode pooler', () => {
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements).toBe(false);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'true' }).databasePreparedStatements).toBe(true);
  });

  it.each(['maybe', 'yes please', '2', 'off;drop'])('refuses %j, naming the variable', (value) => {
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: value })).toThrow(/invalid configuration: DATABASE_PREPARED_STATEMENTS/);
  });
});
