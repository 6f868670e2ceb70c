/**
 * When the catalog search may use the database's full-text index (docs/data.md, Search), and the
 * index query it sends. Pure: the repository turns the answer into SQL.
 *
 * The rule: full-text when `q` is whole words of letters and digits, separated by spaces, each
 * 3 to 84 characters long and none on InnoDB's default stop-word list (MariaDB indexes no
 * shorter word and no stop word, innodb_ft_min_token_size = 3; SQLite keeps the same rule so
 * both dialects answer alike). Anything else (a 1- or 2-letter word, a stop word, punctuation,
 * a quote, an operator) takes the substring search. Each term is sent as a prefix ("steel*"),
 * and the substring test still applies on top, so the full-text path returns exactly the
 * products the substring search would, except those where the text appears only inside a word
 * ("watch" in "wristwatch").
 */

/** InnoDB's INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD (MariaDB 10.11). */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  'a about an are as at be by com de en for from how i in is it la of on or that the this to was what when where who will with und www'.split(' '),
);

export const MIN_TERM_LENGTH = 3;
/** innodb_ft_max_token_size: a longer word is not in MariaDB's index. */
export const MAX_TERM_LENGTH = 84;

/** The terms for the full-text index, lower-cased; undefined when `q` must take the substring search. */
export function fullTextTerms(q: string): string[] | undefined {
  const text = q.trim().toLowerCase();
  if (!/^[\p{L}\p{N}]+(\s+[\p{L}\p{N}]+)*$/u.test(text)) return undefined;
  const terms = text.split(/\s+/);
  if (terms.some((t) => [...t].length < MIN_TERM_LENGTH || [...t].length > MAX_TERM_LENGTH || STOP_WORDS.has(t))) return undefined;
  return terms;
}

/** MariaDB's boolean-mode query: every term required, as a prefix. Terms are letters and digits only, so no operator gets in. */
export function mysqlBooleanQuery(terms: string[]): string {
  return terms.map((t) => `+${t}*`).join(' ');
}

/** SQLite FTS5's query: every term (quoted, so no FTS5 keyword such as NOT or NEAR is read) as a prefix. */
export function fts5Query(terms: string[]): string {
  return terms.map((t) => `"${t}"*`).join(' ');
}
