/** A list read page by page from a keyset-paginated endpoint (`items`, `next_cursor`). */
import { useEffect, useState } from "preact/hooks";
import type { Page } from "../api/types";

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
