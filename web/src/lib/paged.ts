/** A list read page by page from a keyset-paginated endpoint (`items`, `next_cursor`). */
import { useEffect, useState } from "preact/hooks";
import type { Page } from "../api/types";
import type { JsonClient } from "./admin";
import { withQuery } from "./manage";

export interface PagedList<T> {
  items: T[];
  /** Replace the shown items (an item created or changed on the page). */
  setItems: (update: (shown: T[]) => T[]) => void;
  /** The cursor of the next page; null on the last. */
  next: string | null;
  /** The first page has arrived. */
  loaded: boolean;
  loading: boolean;
  /** The last read's failure (a problem+json `ApiError` or a network error), or null. */
  error: unknown;
  /** Reads the first page again (`null`) or appends the page after `cursor`. */
  load: (cursor: string | null) => Promise<void>;
}

/**
 * `read(cursor)` of the list at `path` (which may carry a query already), newest first
 * (`order=newest`), `limit` items a page: what a page showing the latest items reads.
 */
export function newestFirst<T>(client: JsonClient, path: string, limit: number) {
  return (cursor: string | null) =>
    client.request<Page<T>>(
      "GET",
      withQuery(path, { limit: String(limit), order: "newest", cursor: cursor ?? undefined }),
    );
}

/** Reads the first page on mount; `read(cursor)` fetches one page. */
export function usePagedList<T>(read: (cursor: string | null) => Promise<Page<T>>): PagedList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function load(cursor: string | null) {
    setError(null);
    setLoading(true);
    try {
      const page = await read(cursor);
      setItems((shown) => (cursor ? [...shown, ...page.items] : page.items));
      setNext(page.next_cursor);
      setLoaded(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    void load(null);
  }, []);
  return { items, setItems, next, loaded, loading, error, load };
}

interface Dated {
  id: string;
  created_at: string;
}

/** `a` comes after `b` in a newest-first list (older, or as old with a lower id, as
 * the API orders by creation time, then id). */
function olderThan(a: Dated, b: Dated): boolean {
  const at = Date.parse(a.created_at);
  const bt = Date.parse(b.created_at);
  return at < bt || (at === bt && a.id < b.id);
}

/**
 * A newest-first list (`order=newest`) whose first page was read again: the page's items
 * take the place of those of its span (an item gone since drops out, a new one comes in
 * at the top), and the older items a "show more" added stay below it, once each.
 */
export function withFirstPage<T extends Dated>(shown: T[], page: Page<T>): T[] {
  const last = page.items.at(-1);
  if (page.next_cursor === null || last === undefined) return page.items;
  const fresh = new Set(page.items.map((item) => item.id));
  return [...page.items, ...shown.filter((item) => !fresh.has(item.id) && olderThan(item, last))];
}

/** `shown` and the next page read by "show more", each item once. */
export function withNextPage<T extends Dated>(shown: T[], page: Page<T>): T[] {
  const known = new Set(shown.map((item) => item.id));
  return [...shown, ...page.items.filter((item) => !known.has(item.id))];
}
