/**
 * What makes two logins the same login (docs/api.md, Auth): one function, used by the sign-in
 * lookup, by the per-login sign-in rate limit and, for usernames, at sign-up, so that none of
 * them can be told apart by a variant the others treat as equal.
 *
 * MariaDB's collation (utf8mb4_unicode_ci) already finds `eve` for `EVE`, `évé`, full-width
 * `ｅｖｅ` or `eve\u200b`; SQLite's NOCASE only for `EVE`. Folding every login the same way first
 * (compatibility forms, case, accents, invisible characters) makes the two dialects agree, and the
 * rate limiter keys on the same folded text, so variants share one budget.
 */

/** Control, format (zero-width, soft hyphen, BOM), lone surrogate and combining-mark characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{M}]/gu;

/** Longest login kept (the users columns are at most 255 characters). */
export const LOGIN_MAX = 255;

/**
 * The folded form of a login (username or e-mail): NFKC compatibility forms, full case folding,
 * accents removed, control and zero-width characters removed, surrounding white space trimmed.
 * `eve`, `Eve`, `eve\u0000`, `eve\u200b`, `ｅｖｅ` and `évé` all fold to `eve`.
 */
export function normalizeLogin(raw: string): string {
  return raw.normalize('NFKD').toUpperCase().toLowerCase().normalize('NFKD').replace(INVISIBLE, '').normalize('NFKC').trim().slice(0, LOGIN_MAX);
}

/**
 * A username as typed at sign-up, before its character rules are checked: compatibility forms
 * (full-width letters) and invisible characters are taken out, case is kept. So `ｅｖｅ` or
 * `eve\u200b` is the username `eve` (and a 409 when that exists), while `évé` stays what it is and
 * fails the character rules.
 */
export function cleanUsername(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, '')
    .trim();
}
