/** Values as both dialects store and return them. */

/** Date → the text both dialects store in DATETIME(3) columns: 'YYYY-MM-DD HH:MM:SS.mmm' (UTC). */
export function toDbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** A DATETIME read back (a string on both dialects) → ISO 8601 in UTC. */
export function fromDbTime(v: string | Date | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  const s = v.includes('T') ? v : v.replace(' ', 'T');
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Escapes text for `LIKE ? ESCAPE '!'` so `%` and `_` are taken literally. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** The id of a row just inserted, on both dialects. */
export function insertedId(result: unknown): number {
  const first = Array.isArray(result) ? result[0] : result;
  if (typeof first === 'number') return first;
  if (first && typeof first === 'object' && 'id' in first) return Number((first as { id: unknown }).id);
  return Number(first);
}
