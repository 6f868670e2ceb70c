/**
 * Ended sessions end their access tokens too, on every server, at the next request
 * (docs/data.md, "Session revocation").
 *
 * The invariant: a request that arrives after a user's sessions were revoked (disabled, password
 * reset) — by this process, another server or the CLI — is refused if its access token was
 * issued before that revocation. A token carries the user's session epoch as it was when it was
 * issued; revoking raises the epoch and the one-row auth revision in one transaction. Every
 * signed-in request reads the revision (shared with concurrent requests, never a read begun
 * before it arrived: db/fresh-read.ts); when it moved, the epochs of the users revoked recently
 * enough to matter are loaded again (by a load begun after that read), and a token whose epoch
 * is below its user's is refused. Users revoked longer ago than a token lives (plus a margin for
 * the servers' clocks) are left out: every token issued before their revocation has expired.
 *
 * No cache outlives the database's answer, so this needs nothing else: Redis adds nothing here.
 */
import type { Db } from '../db/connection.js';
import { FreshRead } from '../db/fresh-read.js';
import { AppError } from '../errors.js';
import { ACCESS_TOKEN_TTL_SECONDS, type AccessClaims } from './access-token.js';
import { sessionRevocationsRepository as repo } from './session-revocations.repository.js';

/** How far back revocations are loaded beyond a token's lifetime: room for clocks that disagree. */
export const CLOCK_MARGIN_MS = 5 * 60_000;

interface Loaded {
  revision: string;
  epochs: Map<number, number>;
}

export class SessionRevocations {
  private current: Loaded = { revision: '', epochs: new Map() };
  /** The load in progress, and the revision it was started for. */
  private loading: { revision: string; done: Promise<Loaded> } | undefined;
  private readonly revisionRead: FreshRead<string>;

  constructor(private readonly db: Db) {
    this.revisionRead = new FreshRead(() => repo.revision(db));
  }

  /** Resolves when the token's session is still on; UNAUTHENTICATED when it was revoked since it was issued. */
  async check(claims: AccessClaims): Promise<void> {
    const { epochs } = await this.now();
    const revoked = epochs.get(claims.id);
    if (revoked !== undefined && (claims.epoch ?? 0) < revoked) throw new AppError('UNAUTHENTICATED', 'Sign in to continue.');
  }

  private async now(): Promise<Loaded> {
    const revision = await this.revisionRead.read();
    if (revision === this.current.revision) return this.current;
    // Requests that saw the same new revision share one load; it starts after their read.
    if (this.loading?.revision !== revision) {
      const since = new Date(Date.now() - ACCESS_TOKEN_TTL_SECONDS * 1000 - CLOCK_MARGIN_MS);
      const loading = {
        revision,
        done: repo.epochsRevokedSince(this.db, since).then((epochs) => {
          // A later load began after this one read: only the latest started keeps its result.
          if (this.loading === loading) {
            this.current = { revision, epochs };
            this.loading = undefined;
          }
          return { revision, epochs };
        }),
      };
      loading.done.catch(() => {
        if (this.loading === loading) this.loading = undefined;
      });
      this.loading = loading;
    }
    return this.loading.done;
  }
}
