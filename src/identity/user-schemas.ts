/** The user shapes of the admin API: validated here, types inferred, never written twice. */
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.ts';

/** Letters, digits and `. _ @ + -`; no spaces or control characters (they make look-alike accounts). */
const username = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[\p{L}\p{N}._@+-]+$/u, 'may hold letters, digits and . _ @ + - only');
const name = z.string().trim().min(1).max(256).nullable();
const email = z.email().max(320).nullable();
const password = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);

export const createUserSchema = z.strictObject({
  username,
  email: email.optional(),
  emailVerified: z.boolean().optional(),
  givenName: name.optional(),
  familyName: name.optional(),
  password: password.optional(),
  active: z.boolean().optional(),
});
export type CreateUserInput = z.infer<typeof createUserSchema>;

export const updateUserSchema = z
  .strictObject({
    username: username.optional(),
    email: email.optional(),
    emailVerified: z.boolean().optional(),
    givenName: name.optional(),
    familyName: name.optional(),
    password: password.nullable().optional(),
    active: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'give at least one attribute to change');
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

export interface UserView {
  id: string;
  username: string;
  email: string | null;
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  active: boolean;
  source: string;
  groups: string[];
  hasPassword: boolean;
  createdAt: string;
  updatedAt: string;
}
