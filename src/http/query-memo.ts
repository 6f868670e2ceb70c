/**
 * Query strings already validated, with what validating them gave: the catalog listing validates
 * a query string once, not on every request (bench/README.md, "Catalog hit path").
 *
 * The invariant: `get` returns for a query string only what `parse` returned for that same string
 * (parsing is a pure function of it), and keeps nothing else. A string whose parse threw (a 400) is
 * never kept: it fails again each time. What is kept is frozen, so no request can change what the
 * next one gets. Bounded: at most `maxEntries` strings of at most `maxLength` characters (a longer
 * one is parsed every time); the oldest go first.
 */
export class QueryMemo<T extends object> {
  private readonly entries = new Map<string, Readonly<T>>();

  constructor(
    private readonly maxEntries = 1024,
    private readonly maxLength = 512,
  ) {}

  /** What `parse` gives for `raw`: remembered from an earlier call with the same `raw`, or parsed now. */
  get(raw: string, parse: () => T): Readonly<T> {
    const known = this.entries.get(raw);
    if (known) return known;
    const value = Object.freeze(parse());
    if (raw.length <= this.maxLength) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(raw, value);
    }
    return value;
  }

  /** Query strings held now. */
  get size(): number {
    return this.entries.size;
  }
}
