import { describe, expect, it } from "vitest";
import type { Page } from "./bindings";
import { Latest, ResultList } from "./paging";
import { hit, query } from "./testdata";

/** Rows with keys from `from` down to `to` (inclusive), newest first, like the shell returns them. */
function page(from: number, to: number, next: number | null): Page {
  const hits = [];
  for (let k = from; k >= to; k--) hits.push(hit(k));
  return { hits, next_before: next };
}

const keys = (l: ResultList) => l.rows.map((h) => h.key);

describe("ResultList paging", () => {
  it("asks for the first page without a cursor, then pages with next_before", () => {
    const l = new ResultList();
    const first = l.reset(query({ text: "koji", before: 77 }));
    expect(first.query.before).toBeNull();
    expect(first.query.text).toBe("koji");
    expect(l.loading).toBe(true);
    expect(l.next()).toBeNull(); // one request at a time

    expect(l.accept(first, page(300, 201, 201))).toBe(true);
    expect(l.rows).toHaveLength(100);
    expect(l.nextBefore).toBe(201);
    expect(l.done).toBe(false);

    const second = l.next();
    expect(second?.query.before).toBe(201);
    expect(second?.query.text).toBe("koji");
    expect(l.accept(second!, page(200, 150, null))).toBe(true);
    expect(keys(l).slice(98, 102)).toEqual([202, 201, 200, 199]);
    expect(l.done).toBe(true);
    expect(l.next()).toBeNull();
  });

  it("carries on at once after a page the shell answered in part, and only then", () => {
    const l = new ResultList();
    const first = l.reset(query({ text: "rare", limit: 100 }));
    expect(l.continuation()).toBeNull(); // nothing answered yet
    // Three hits and a cursor: the shell ran out of time, not of messages.
    l.accept(first, page(900, 898, 500));
    const on = l.continuation();
    expect(on?.query.before).toBe(500);
    expect(on?.query.text).toBe("rare");
    expect(l.loading).toBe(true);
    expect(l.continuation()).toBeNull(); // one step per answer
    // An empty step still goes on; a full page waits for the user to scroll.
    l.accept(on!, { hits: [], next_before: 200 });
    const again = l.continuation()!;
    expect(again.query.before).toBe(200);
    l.accept(again, page(199, 100, 100));
    expect(l.continuation()).toBeNull();
    expect(l.rows).toHaveLength(103);
    // A short page without a cursor is the end.
    l.accept(l.next()!, page(99, 98, null));
    expect(l.continuation()).toBeNull();
    expect(l.done).toBe(true);
  });

  it("forgets a pending continuation when the query changes", () => {
    const l = new ResultList();
    const first = l.reset(query({ text: "old" }));
    l.accept(first, { hits: [], next_before: 42 });
    l.reset(query({ text: "new" }));
    expect(l.continuation()).toBeNull();
  });

  it("drops answers to a query that was replaced, even when they arrive last", () => {
    const l = new ResultList();
    const old = l.reset(query({ text: "old" }));
    const current = l.reset(query({ text: "new" }));
    expect(l.accept(current, page(10, 9, null))).toBe(true);
    expect(l.accept(old, page(500, 401, 401))).toBe(false);
    expect(keys(l)).toEqual([10, 9]);
    expect(l.done).toBe(true);
  });

  it("drops a page of the old query that arrives before the new query's first page", () => {
    const l = new ResultList();
    const a = l.reset(query());
    l.accept(a, page(100, 51, 51));
    const more = l.next()!;
    const fresh = l.reset(query({ source: "koji" }));
    expect(l.accept(more, page(50, 1, null))).toBe(false);
    expect(l.rows).toEqual([]);
    expect(l.loading).toBe(true);
    expect(l.accept(fresh, page(7, 7, null))).toBe(true);
    expect(keys(l)).toEqual([7]);
  });

  it("accepts a request once only", () => {
    const l = new ResultList();
    const r = l.reset(query());
    expect(l.accept(r, page(5, 4, 4))).toBe(true);
    expect(l.accept(r, page(5, 4, 4))).toBe(false);
    expect(keys(l)).toEqual([5, 4]);
  });

  it("lets a failed page be asked for again, and ignores failures of stale requests", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(10, 6, 6));
    const r = l.next()!;
    expect(l.fail(r)).toBe(true);
    expect(l.loading).toBe(false);
    expect(l.next()?.query.before).toBe(6);
    const stale = l.next();
    expect(stale).toBeNull();
    const old = l.reset(query());
    l.reset(query());
    expect(l.fail(old)).toBe(false);
    expect(l.loading).toBe(true);
  });

  it("skips rows it already holds", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(10, 6, 6));
    l.accept(l.next()!, { hits: [hit(7), hit(6), hit(5)], next_before: null });
    expect(keys(l)).toEqual([10, 9, 8, 7, 6, 5]);
  });
});

describe("ResultList live rows", () => {
  it("puts a new message at the top, once", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(10, 1, null));
    expect(l.addLive(hit(11))).toBe(true);
    expect(l.addLive(hit(11))).toBe(false);
    expect(keys(l).slice(0, 3)).toEqual([11, 10, 9]);
    expect(l.indexOf("id-11")).toBe(0);
  });

  it("keeps newest-first order when live messages arrive out of order", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(10, 1, null));
    l.addLive(hit(13));
    l.addLive(hit(12));
    expect(keys(l).slice(0, 4)).toEqual([13, 12, 10, 9]);
  });

  it("leaves a late, older message to paging while older pages remain", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), { hits: [100, 90, 80, 70, 60].map((k) => hit(k)), next_before: 60 });
    expect(l.addLive(hit(20))).toBe(false);
    // Inside the loaded span it goes where its key belongs.
    expect(l.addLive(hit(75))).toBe(true);
    expect(keys(l)).toEqual([100, 90, 80, 75, 70, 60]);
    // Once the page containing key 20 is loaded, it is there exactly once.
    l.accept(l.next()!, page(50, 1, null));
    expect(keys(l).filter((k) => k === 20)).toHaveLength(1);
  });

  it("adds an older message when the whole history is loaded", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(100, 51, null));
    expect(l.addLive(hit(20))).toBe(true);
    expect(keys(l).at(-1)).toBe(20);
  });

  it("does not duplicate a live row that the first page also returns", () => {
    const l = new ResultList();
    const r = l.reset(query());
    expect(l.addLive(hit(11))).toBe(true);
    l.accept(r, page(11, 8, null));
    expect(keys(l)).toEqual([11, 10, 9, 8]);
  });

  it("marks rows read without touching the others", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(3, 1, null));
    const before = l.rows;
    expect(l.markRead(["id-2"])).toBe(true);
    expect(l.rows.map((h) => h.read)).toEqual([false, true, false]);
    expect(l.rows).not.toBe(before); // a new array, so views see the change
    expect(l.markRead(["id-2", "missing"])).toBe(false);
    expect(l.markAllRead()).toBe(true);
    expect(l.rows.every((h) => h.read)).toBe(true);
    expect(l.markAllRead()).toBe(false);
  });

  it("updates a row in place", () => {
    const l = new ResultList();
    l.accept(l.reset(query()), page(3, 1, null));
    expect(l.update(hit(2, { summary: "changed" }))).toBe(true);
    expect(l.rows[1]?.summary).toBe("changed");
    expect(l.update(hit(99))).toBe(false);
  });
});

describe("Latest", () => {
  it("only the newest ticket is current", () => {
    const turn = new Latest();
    const a = turn.next();
    expect(turn.isCurrent(a)).toBe(true);
    const b = turn.next();
    expect(turn.isCurrent(a)).toBe(false);
    expect(turn.isCurrent(b)).toBe(true);
  });
});
