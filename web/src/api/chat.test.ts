import { describe, expect, it } from "vitest";
import { sendStreamed } from "./chat";
import { ApiClient, ApiError } from "./client";
import type { Source, Tokens } from "./types";

const TOKENS: Tokens = {
  access_token: "a",
  refresh_token: "r",
  token_type: "Bearer",
  expires_in: 1,
};

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

function clientAnswering(response: () => Response): ApiClient {
  let tokens: Tokens | null = TOKENS;
  return new ApiClient({
    store: { get: () => tokens, set: (t) => (tokens = t) },
    fetch: (async () => response()) as typeof fetch,
  });
}

const SOURCE: Source = {
  chunk_id: "d:0",
  document_id: "d",
  filename: "gap.md",
  topic: "playbooks",
  index: 0,
  page: null,
};

describe("sendStreamed", () => {
  it("reports deltas and sources, and resolves the stored message of `done`", async () => {
    const client = clientAnswering(
      () =>
        new Response(
          streamOf([
            'event: delta\ndata: {"text":"GAP co',
            'vers"}\n\n: keep-alive\n\nevent: delta\ndata: {"text":" the gap [1]"}\n\n',
            `event: sources\ndata: {"sources":[${JSON.stringify(SOURCE)}]}\n\n`,
            'event: done\ndata: {"message_id":"m","message":{"id":"m","content":"GAP covers it [1]."}}\n\n',
          ]),
          { status: 200, headers: { "content-type": "text/event-stream" } },
        ),
    );
    const deltas: string[] = [];
    const sources: Source[][] = [];
    const stored = await sendStreamed(client, "c", "What does GAP cover?", {
      onDelta: (text) => deltas.push(text),
      onSources: (s) => sources.push(s),
    });
    expect(deltas).toEqual(["GAP covers", " the gap [1]"]);
    expect(sources).toEqual([[SOURCE]]);
    expect(stored.content).toBe("GAP covers it [1].");
  });

  it("throws the `error` event as an ApiError with its detail and code", async () => {
    const client = clientAnswering(
      () =>
        new Response(
          streamOf([
            'event: delta\ndata: {"text":"Hi"}\n\n',
            'event: error\ndata: {"type":"x","code":"chat_model_unavailable","detail":"model down"}\n\n',
          ]),
          { status: 200 },
        ),
    );
    const error = (await sendStreamed(client, "c", "q", { onDelta() {}, onSources() {} }).catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("chat_model_unavailable");
    expect(error.message).toBe("model down");
  });

  it("throws a refusal before the stream (problem+json) and a stream cut short", async () => {
    const refused = clientAnswering(
      () =>
        new Response(JSON.stringify({ status: 429, code: "rate_limited", detail: "slow down" }), {
          status: 429,
          headers: { "content-type": "application/problem+json" },
        }),
    );
    await expect(sendStreamed(refused, "c", "q", { onDelta() {}, onSources() {} })).rejects.toThrow(
      "slow down",
    );
    const cut = clientAnswering(
      () => new Response(streamOf(['event: delta\ndata: {"text":"Hi"}\n\n']), { status: 200 }),
    );
    const error = (await sendStreamed(cut, "c", "q", { onDelta() {}, onSources() {} }).catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(error.code).toBe("stream_cut");
  });

  it("posts to the scoped path, which names a super admin's dealership", async () => {
    const asked: string[] = [];
    let tokens: Tokens | null = TOKENS;
    const client = new ApiClient({
      store: { get: () => tokens, set: (t) => (tokens = t) },
      fetch: (async (input: RequestInfo | URL) => {
        asked.push(String(input));
        return new Response(
          streamOf(['event: done\ndata: {"message_id":"m","message":{"id":"m"}}\n\n']),
          { status: 200 },
        );
      }) as typeof fetch,
    });
    await sendStreamed(
      client,
      "c",
      "q",
      { onDelta() {}, onSources() {} },
      (path) => `${path}?dealership_id=d`,
    );
    expect(asked).toEqual(["/v1/conversations/c/messages?dealership_id=d"]);
  });
});
