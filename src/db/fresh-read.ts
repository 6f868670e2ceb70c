/**
 * One read shared by every request that may share it, and no more (docs/architecture.md,
 * "Catalog freshness").
 *
 * The invariant: a caller is only ever answered by a read that started after the caller asked.
 * So what it gets is at least as fresh as a read of its own would have been — a change committed
 * before the request arrived is always seen — while concurrent callers share one round trip:
 * whoever asks while a read is in flight joins the one read queued to start when it settles.
 * Under load this is at most one read in flight and one queued, instead of one per request.
 */
export class FreshRead<T> {
  private inFlight: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly load: () => Promise<T>) {}

  read(): Promise<T> {
    if (!this.inFlight) return this.start();
    // The read in flight may have started before this caller asked: wait for the next one.
    this.queued ??= this.inFlight.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  private startQueued(): Promise<T> {
    this.queued = undefined;
    return this.start();
  }

  private start(): Promise<T> {
    const read = this.load().finally(() => {
      if (this.inFlight === read) this.inFlight = undefined;
    });
    this.inFlight = read;
    return read;
  }
}
