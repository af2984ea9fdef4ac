import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, NetworkError, type TokenStore } from "./client";
import type { Tokens } from "./types";

function tokens(n: number): Tokens {
  return { access_token: `a${n}`, refresh_token: `r${n}`, token_type: "Bearer", expires_in: 900 };
}

function memoryStore(initial: Tokens | null): TokenStore & { value: Tokens | null } {
  return {
    value: initial,
    get() {
      return this.value;
    },
    set(t) {
      this.value = t;
    },
  };
}

interface Call {
  url: string;
  auth: string | null;
  body: string | null;
}

/** A fake server: `routes` answers by path; every call is recorded. */
function fakeFetch(routes: (call: Call, n: number) => Response) {
  const calls: Call[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = {
      url: String(input),
      auth: new Headers(init?.headers).get("authorization"),
      body: (init?.body as string) ?? null,
    };
    calls.push(call);
    return routes(call, calls.length);
  };
  return { calls, fn: fn as typeof fetch };
}

const json = (status: number, body: unknown, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
const problem = (status: number, code: string, detail: string) =>
  json(status, { status, code, detail, title: "x" }, "application/problem+json");

describe("ApiClient", () => {
  it("refreshes once on a 401 and retries with the new token", async () => {
    const store = memoryStore(tokens(1));
    const server = fakeFetch((call) => {
      if (call.url === "/v1/auth/refresh") return json(200, tokens(2));
      return call.auth === "Bearer a2"
        ? json(200, { ok: true })
        : problem(401, "invalid_token", "expired");
    });
    const client = new ApiClient({ store, fetch: server.fn });
    expect(await client.request("GET", "/v1/me")).toEqual({ ok: true });
    expect(server.calls.map((c) => c.url)).toEqual(["/v1/me", "/v1/auth/refresh", "/v1/me"]);
    expect(JSON.parse(server.calls[1]?.body ?? "")).toEqual({ refresh_token: "r1" });
    expect(store.value?.refresh_token).toBe("r2");
  });

  it("shares one refresh between concurrent requests", async () => {
    const store = memoryStore(tokens(1));
    const server = fakeFetch((call) => {
      if (call.url === "/v1/auth/refresh") return json(200, tokens(2));
      return call.auth === "Bearer a2" ? json(200, {}) : problem(401, "invalid_token", "x");
    });
    const client = new ApiClient({ store, fetch: server.fn });
    await Promise.all([client.request("GET", "/v1/a"), client.request("GET", "/v1/b")]);
    expect(server.calls.filter((c) => c.url === "/v1/auth/refresh")).toHaveLength(1);
  });

  it("signs out when the refresh is refused (revoked or expired session)", async () => {
    const store = memoryStore(tokens(1));
    let signedOut = 0;
    const server = fakeFetch(() => problem(401, "invalid_token", "session revoked"));
    const client = new ApiClient({ store, fetch: server.fn, onSignedOut: () => signedOut++ });
    const error = await client.request("GET", "/v1/me").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(store.value).toBeNull();
    expect(signedOut).toBe(1);
    expect(server.calls.map((c) => c.url)).toEqual(["/v1/me", "/v1/auth/refresh"]);
  });

  it("does not refresh twice when the retried request is refused again", async () => {
    const store = memoryStore(tokens(1));
    let signedOut = 0;
    const server = fakeFetch((call) =>
      call.url === "/v1/auth/refresh" ? json(200, tokens(2)) : problem(401, "invalid_token", "no"),
    );
    const client = new ApiClient({ store, fetch: server.fn, onSignedOut: () => signedOut++ });
    const response = await client.raw("/v1/me");
    expect(response.status).toBe(401);
    expect(server.calls.map((c) => c.url)).toEqual(["/v1/me", "/v1/auth/refresh", "/v1/me"]);
    expect(signedOut).toBe(1);
  });

  it("throws problem+json errors with their detail and code", async () => {
    const server = fakeFetch(() => problem(409, "duplicate_document", "already uploaded"));
    const client = new ApiClient({ store: memoryStore(tokens(1)), fetch: server.fn });
    const error = (await client.request("POST", "/v1/x", {}).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe("already uploaded");
    expect(error.code).toBe("duplicate_document");
    expect(error.status).toBe(409);
  });

  it("reports a non-JSON error body and a network failure readably", async () => {
    const text = fakeFetch(() => new Response("Bad Gateway", { status: 502 }));
    const client = new ApiClient({ store: memoryStore(tokens(1)), fetch: text.fn });
    const error = (await client.request("GET", "/v1/x").catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe("Bad Gateway");
    const down = new ApiClient({
      store: memoryStore(tokens(1)),
      fetch: (() => Promise.reject(new TypeError("fetch failed"))) as typeof fetch,
    });
    expect(await down.request("GET", "/v1/x").catch((e: unknown) => e)).toBeInstanceOf(
      NetworkError,
    );
  });

  it("signs in and stores the pair; a wrong password is an ApiError with its detail", async () => {
    const store = memoryStore(null);
    const server = fakeFetch((call) =>
      JSON.parse(call.body ?? "{}").password === "right"
        ? json(200, tokens(5))
        : problem(401, "authentication_failed", "wrong email or password"),
    );
    const client = new ApiClient({ store, fetch: server.fn });
    await expect(client.signIn("a@b.c", "wrong")).rejects.toThrow("wrong email or password");
    expect(store.value).toBeNull();
    await client.signIn("a@b.c", "right");
    expect(store.value?.access_token).toBe("a5");
  });
});
