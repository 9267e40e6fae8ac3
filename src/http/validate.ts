/** zod at the edge: parse or throw InvalidInput naming each bad field. */
import type { z } from 'zod';
import { InvalidInput } from '../lib/errors.ts';

export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const message = result.error.issues
    .slice(0, 10)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  throw new InvalidInput(message, { cause: result.error });
}
