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

/** POST /api/auth/password-reset: a username or an e-mail, folded like sign-in's (users/login.ts). */
export const passwordResetRequestSchema = z.object({ login: loginField });

/**
 * POST /api/auth/password-reset/confirm: the token from the e-mail and the new password, checked
 * like sign-up's. A token of the wrong shape is not a validation error but INVALID_TOKEN, the
 * answer for every token that does not work.
 */
export const passwordResetConfirmSchema = z.object({
  token: z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(200, { message: 'is too long' }),
  password: passwordSchema,
});
export type PasswordResetConfirmInput = z.output<typeof passwordResetConfirmSchema>;

export const messageResponseSchema = z.object({ message: z.string() });

/** PATCH /api/auth/me: what a customer may change about themselves (an account from the old sign-up form adds its e-mail). */
export const mePatchSchema = z.object({ email: emailSchema });
