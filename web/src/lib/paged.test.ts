import { describe, expect, it } from "vitest";
import { newestFirst, withFirstPage, withNextPage } from "./paged";

const item = (id: string, second: number) => ({
  id,
  created_at: new Date(Date.UTC(2026, 11, 1, 9, 0, second)).toISOString(),
});

describe("a newest-first list read again", () => {
  const d5 = item("d5", 5);
  const d4 = item("d4", 4);
  const d3 = item("d3", 3);
  const d2 = item("d2", 2);
  const d1 = item("d1", 1);

  it("takes the first page's span from the page and keeps the older items shown", () => {
    const shown = [d4, d3, d2, d1]; // the first page was d4, d3; "show more" added d2, d1
    const d6 = item("d6", 6);
    // Read again: d6 is new, d4 was deleted, so the page of 2 is d6, d3.
    expect(withFirstPage(shown, { items: [d6, d3], next_cursor: "c" })).toEqual([d6, d3, d2, d1]);
    // An item deleted below the page stays until read again: the page cannot tell.
    expect(withFirstPage([d3, d2, d1], { items: [d5, d3], next_cursor: "c" })).toEqual([
      d5,
      d3,
      d2,
      d1,
    ]);
  });

  it("is the page alone when the page is the whole list", () => {
    expect(withFirstPage([d4, d3, d2], { items: [d5, d3], next_cursor: null })).toEqual([d5, d3]);
    expect(withFirstPage([d4], { items: [], next_cursor: null })).toEqual([]);
  });

  it("breaks a tie of creation times by id, as the API does", () => {
    const a = { id: "a", created_at: d3.created_at };
    const b = { id: "b", created_at: d3.created_at };
    expect(withFirstPage([b, a], { items: [b], next_cursor: "c" })).toEqual([b, a]);
  });

  it("appends the next page without repeating an item already shown", () => {
    expect(withNextPage([d5, d4], { items: [d4, d3], next_cursor: null })).toEqual([d5, d4, d3]);
  });
});

describe("newestFirst", () => {
  it("asks for the newest first, a page of `limit`, then by the cursor", async () => {
    const asked: string[] = [];
    const client = {
      async request<T>(_method: string, path: string): Promise<T> {
        asked.push(path);
        return { items: [], next_cursor: null } as T;
      },
    };
    const read = newestFirst<string>(client, "/v1/users?dealership_id=d1", 50);
    await read(null);
    await read("c2");
    expect(asked).toEqual([
      "/v1/users?dealership_id=d1&limit=50&order=newest",
      "/v1/users?dealership_id=d1&limit=50&order=newest&cursor=c2",
    ]);
  });
});
