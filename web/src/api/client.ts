/**
 * The API client: bearer authentication with transparent refresh-token rotation. A 401
 * on an authenticated request triggers one refresh (shared by concurrent requests) and
 * one retry; a refresh refused means the session ended (revoked, expired, reused), so the
 * tokens are dropped and `onSignedOut` runs. Errors are `ApiError` carrying the
 * problem+json `detail`.
 */
import type { Problem, Tokens } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code;
    this.problem = problem;
  }
}

/** A failure before any answer (network down, server unreachable). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super("The server could not be reached. Check your connection and try again.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

/** Access token in memory; the refresh token in sessionStorage so a reload stays signed in. */
export function browserTokenStore(storage: Storage = sessionStorage): TokenStore {
  let current: Tokens | null = null;
  return {
    get() {
      if (current) return current;
      const refresh = storage.getItem("avataradam.refresh");
      return refresh
        ? { access_token: "", refresh_token: refresh, token_type: "Bearer", expires_in: 0 }
        : null;
    },
    set(tokens) {
      current = tokens;
      if (tokens) storage.setItem("avataradam.refresh", tokens.refresh_token);
      else storage.removeItem("avataradam.refresh");
    },
  };
}

export async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as Problem;
    if (body && typeof body === "object") return body;
  } catch {
    // not JSON: fall through
  }
  return { status: response.status, detail: text.slice(0, 300) || response.statusText };
}

export interface ClientOptions {
  store: TokenStore;
  baseUrl?: string;
  fetch?: typeof fetch;
  onSignedOut?: () => void;
}

export class ApiClient {
  private readonly store: TokenStore;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private refreshing: Promise<boolean> | null = null;
  onSignedOut: () => void;

  constructor(options: ClientOptions) {
    this.store = options.store;
    this.baseUrl = options.baseUrl ?? "";
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.onSignedOut = options.onSignedOut ?? (() => {});
  }

  get signedIn(): boolean {
    return this.store.get() !== null;
  }

  async signIn(email: string, password: string): Promise<void> {
    const response = await this.send("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    this.store.set((await response.json()) as Tokens);
  }

  async signOut(): Promise<void> {
    const tokens = this.store.get();
    if (tokens) {
      await this.request("POST", "/v1/auth/logout", { refresh_token: tokens.refresh_token }).catch(
        () => undefined,
      );
    }
    this.store.set(null);
  }

  /** The current access token, refreshed first when only a refresh token is held. */
  async accessToken(): Promise<string> {
    const tokens = this.store.get();
    if (!tokens) throw this.ended();
    if (tokens.access_token) return tokens.access_token;
    if (!(await this.refresh())) throw this.ended();
    return this.store.get()?.access_token ?? "";
  }

  /** Refreshes once for all concurrent callers; false when the session has ended. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const tokens = this.store.get();
    if (!tokens) return false;
    let response: Response;
    try {
      response = await this.send("/v1/auth/refresh", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: tokens.refresh_token }),
      });
    } catch (error) {
      throw new NetworkError(error);
    }
    if (!response.ok) {
      if (response.status >= 500 || response.status === 429) {
        throw new ApiError(response.status, await problemOf(response));
      }
      this.store.set(null);
      this.onSignedOut();
      return false;
    }
    this.store.set((await response.json()) as Tokens);
    return true;
  }

  private ended(): ApiError {
    return new ApiError(401, {
      status: 401,
      code: "session_ended",
      detail: "Your session has ended. Please sign in again.",
    });
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(this.baseUrl + path, init);
    } catch (error) {
      throw new NetworkError(error);
    }
  }

  /**
   * An authenticated request; answers the Response whatever its status, except that a
   * 401 is retried once after a refresh and an ended session throws.
   */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.accessToken();
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${token}`);
      const response = await this.send(path, { ...init, headers });
      if (response.status !== 401 || attempt > 0) {
        if (response.status === 401) {
          this.store.set(null);
          this.onSignedOut();
        }
        return response;
      }
      if (!(await this.refresh())) throw this.ended();
    }
  }

  /** JSON request; resolves the decoded body (undefined for 204), throws ApiError. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers = { accept: "application/json", "content-type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const response = await this.raw(path, init);
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}
