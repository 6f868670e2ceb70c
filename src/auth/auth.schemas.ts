import { z } from 'zod';
import { emailSchema, passwordSchema, publicUserSchema, usernameSchema } from '../users/users.schemas.js';

/** Sign-up: exactly these fields are taken; anything else (role, id, …) is dropped. */
export const signupSchema = z.object({
  username: usernameSchema,
  email: emailSchema,
  password: passwordSchema,
});
export type SignupInput = z.output<typeof signupSchema>;

const loginField = z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' }).max(255, { message: 'must be at most 255 characters' });

/**
 * Sign-in: `login` is a username or an e-mail; the old clients' `username` or `email` fields are
 * accepted instead. The password is not length-checked here beyond a sanity bound: a wrong one
 * must fail as INVALID_CREDENTIALS, exactly like an unknown user.
 */
export const signinSchema = z
  .object({
    login: loginField.optional(),
    username: loginField.optional(),
    email: loginField.optional(),
    password: z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(1024, { message: 'is too long' }),
  })
  .refine((b) => b.login !== undefined || b.username !== undefined || b.email !== undefined, {
    message: 'is required (a username or an e-mail address)',
    path: ['login'],
  })
  .transform((b) => ({ login: (b.login ?? b.username ?? b.email) as string, password: b.password }));
export type SigninInput = z.output<typeof signinSchema>;

export const userResponseSchema = z.object({ user: publicUserSchema });

/** PATCH /api/auth/me: what a customer may change about themselves (an account from the old sign-up form adds its e-mail). */
export const mePatchSchema = z.object({ email: emailSchema });
