import { describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "./client";
import { fetchPassage, loadPassage, paragraphsOf, parsePassage } from "./passages";
import type { Passage, Source, Tokens } from "./types";

const TOKENS: Tokens = {
  access_token: "a",
  refresh_token: "r",
  token_type: "Bearer",
  expires_in: 1,
};

const PASSAGE: Passage = {
  document_id: "0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90",
  filename: "gap-guide.md",
  topic: "playbooks",
  index: 3,
  page: null,
  section: "Presenting GAP",
  text: "GAP covers the gap.\n\nShow the customer their own numbers.",
};

const SOURCE: Source = {
  chunk_id: `${PASSAGE.document_id}:3`,
  document_id: PASSAGE.document_id,
  filename: PASSAGE.filename,
  topic: PASSAGE.topic,
  index: 3,
  page: null,
};

/** A client whose server answers each call with the next of `answers`; `urls` records them. */
function serverAnswering(...answers: (() => Response)[]) {
  let tokens: Tokens | null = TOKENS;
  const urls: string[] = [];
  const client = new ApiClient({
    store: { get: () => tokens, set: (t) => (tokens = t) },
    fetch: (async (input: RequestInfo | URL) => {
      urls.push(String(input));
      const answer = answers[urls.length - 1];
      if (!answer) throw new Error("no more answers");
      return answer();
    }) as typeof fetch,
  });
  return { client, urls };
}

function json(body: unknown, status = 200, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

const NOT_FOUND = () =>
  json(
    { status: 404, code: "not_found", detail: "passage not found" },
    404,
    "application/problem+json",
  );

describe("fetchPassage", () => {
  it("reads the passage of a document by its index", async () => {
    const { client, urls } = serverAnswering(() => json(PASSAGE));
    expect(await fetchPassage(client, PASSAGE.document_id, 3)).toEqual(PASSAGE);
    expect(urls).toEqual([`/v1/documents/${PASSAGE.document_id}/passages/3`]);
  });

  it("throws the problem's detail for a passage no longer served", async () => {
    const { client } = serverAnswering(NOT_FOUND);
    const error = await fetchPassage(client, PASSAGE.document_id, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).code).toBe("not_found");
    expect((error as ApiError).message).toBe("passage not found");
  });
});

describe("parsePassage", () => {
  it("keeps a passage without page or section", () => {
    expect(parsePassage({ ...PASSAGE, section: null, extra: 1 })).toEqual({
      ...PASSAGE,
      section: null,
    });
  });

  it.each([
    ["no text", { ...PASSAGE, text: undefined }],
    ["a page that is not a number", { ...PASSAGE, page: "12" }],
    ["a section that is not text", { ...PASSAGE, section: 4 }],
    ["not an object", "GAP covers the gap."],
    ["nothing", null],
  ])("refuses a body with %s", (_, body) => {
    expect(() => parsePassage(body)).toThrow(ApiError);
  });
});

describe("loadPassage", () => {
  it("reads a chunk once, then answers it from the cache", async () => {
    const { client, urls } = serverAnswering(() => json(PASSAGE));
    const first = await loadPassage(client, SOURCE);
    const again = await loadPassage(client, SOURCE);
    expect(again).toBe(first);
    expect(urls).toHaveLength(1);
  });

  it("does not keep a failed read: opening the source again asks again", async () => {
    const { client, urls } = serverAnswering(NOT_FOUND, () => json(PASSAGE));
    await expect(loadPassage(client, SOURCE)).rejects.toBeInstanceOf(ApiError);
    expect(await loadPassage(client, SOURCE)).toEqual(PASSAGE);
    expect(urls).toHaveLength(2);
  });

  it("keeps each client's passages apart", async () => {
    const one = serverAnswering(() => json(PASSAGE));
    const two = serverAnswering(() => json({ ...PASSAGE, text: "Another text." }));
    await loadPassage(one.client, SOURCE);
    expect((await loadPassage(two.client, SOURCE)).text).toBe("Another text.");
  });
});

describe("paragraphsOf", () => {
  it("splits at blank lines and keeps line breaks within a paragraph", () => {
    expect(paragraphsOf("First line\nsame paragraph.\n\n  \nSecond.\n \t\nThird.\n")).toEqual([
      "First line\nsame paragraph.",
      "Second.",
      "Third.",
    ]);
  });

  it("answers no paragraph for blank text", () => {
    expect(paragraphsOf(" \n\n ")).toEqual([]);
  });
});
