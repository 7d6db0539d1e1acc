// The loaded part of a result list: pages fetched newest first with a keyset cursor, messages
// pushed live merged in, and answers to superseded requests dropped.
import type { Hit, HistoryQuery, Page } from "./bindings";

/** One page to fetch. Only the request the list handed out last may be accepted. */
export type PageRequest = { readonly generation: number; readonly query: HistoryQuery };

export class ResultList {
  rows: readonly Hit[] = [];
  nextBefore: number | null = null;
  /** Set once the shell said there is nothing older. */
  done = false;
  /** The last page came back short with a cursor: the shell ran out of time, not of messages. */
  private goOn = false;
  private ids = new Set<string>();
  private generation = 0;
  private query: HistoryQuery | null = null;
  private pending: PageRequest | null = null;

  get loading(): boolean {
    return this.pending !== null;
  }

  /** Empties the list for a new query and returns the request for its first page. */
  reset(query: HistoryQuery): PageRequest {
    this.generation += 1;
    this.query = { ...query, before: null };
    this.rows = [];
    this.ids = new Set();
    this.nextBefore = null;
    this.done = false;
    this.goOn = false;
    this.pending = { generation: this.generation, query: this.query };
    return this.pending;
  }

  /** The request for the page after the loaded rows, or null when one is in flight or none is left. */
  next(): PageRequest | null {
    if (this.query === null || this.pending !== null || this.done || this.nextBefore === null) {
      return null;
    }
    this.pending = { generation: this.generation, query: { ...this.query, before: this.nextBefore } };
    return this.pending;
  }

  /** Adds a page's rows; returns false (and changes nothing) for a request no longer wanted. */
  accept(request: PageRequest, page: Page): boolean {
    if (request !== this.pending) return false;
    this.pending = null;
    const fresh = page.hits.filter((h) => !this.ids.has(h.id));
    for (const h of fresh) this.ids.add(h.id);
    this.rows = sortNewestFirst([...this.rows, ...fresh]);
    this.nextBefore = page.next_before;
    this.done = page.next_before === null;
    this.goOn = !this.done && page.hits.length < request.query.limit;
    return true;
  }

  /**
   * The request that carries on a search the shell answered only in part (it answers within a
   * time budget, so a search that matches little comes back in steps), or null. Asked once per
   * accepted page, whether or not the user scrolls.
   */
  continuation(): PageRequest | null {
    if (!this.goOn) return null;
    this.goOn = false;
    return this.next();
  }

  /**
   * A request failed: the next scroll may retry it. Returns false for a request the list no
   * longer wanted, whose failure nobody needs to hear about.
   */
  fail(request: PageRequest): boolean {
    if (request !== this.pending) return false;
    this.pending = null;
    return true;
  }

  /**
   * Merges a message that was just stored. A message older than every loaded row is left for
   * paging to bring in its turn, unless the whole history is already loaded.
   */
  addLive(hit: Hit): boolean {
    if (this.ids.has(hit.id)) return false;
    const last = this.rows[this.rows.length - 1];
    if (last !== undefined && hit.key < last.key && !this.done) return false;
    this.ids.add(hit.id);
    this.rows = sortNewestFirst([hit, ...this.rows]);
    return true;
  }

  /** Replaces a row's data (e.g. its read flag) in place. */
  update(hit: Hit): boolean {
    const i = this.indexOf(hit.id);
    if (i < 0) return false;
    const rows = [...this.rows];
    rows[i] = hit;
    this.rows = rows;
    return true;
  }

  markRead(ids: readonly string[]): boolean {
    const wanted = new Set(ids);
    return this.mapRows((h) => (wanted.has(h.id) && !h.read ? { ...h, read: true } : h));
  }

  markAllRead(): boolean {
    return this.mapRows((h) => (h.read ? h : { ...h, read: true }));
  }

  indexOf(id: string): number {
    return this.ids.has(id) ? this.rows.findIndex((h) => h.id === id) : -1;
  }

  private mapRows(f: (h: Hit) => Hit): boolean {
    let changed = false;
    const rows = this.rows.map((h) => {
      const n = f(h);
      changed ||= n !== h;
      return n;
    });
    if (changed) this.rows = rows;
    return changed;
  }
}

function sortNewestFirst(rows: Hit[]): Hit[] {
  for (let i = 1; i < rows.length; i++) {
    if (rows[i - 1]!.key < rows[i]!.key) return rows.sort((a, b) => b.key - a.key);
  }
  return rows;
}

/**
 * Numbers requests of one kind so that only the answer to the latest is used: typing fires a
 * request per pause, and an older, slower answer must not overwrite a newer one.
 */
export class Latest {
  private n = 0;

  next(): number {
    this.n += 1;
    return this.n;
  }

  isCurrent(ticket: number): boolean {
    return ticket === this.n;
  }
}
