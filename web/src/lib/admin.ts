/** Pure helpers of the Users and Dealerships pages: roles, request bodies, budgets, pages. */
import type { UserItem } from "../api/manager";
import type { Me, Page, Role } from "../api/types";
import { withQuery } from "./manage";
import type { DealershipScope } from "./scope";

export const ROLE_LABELS: Record<Role, string> = {
  super_admin: "Super admin",
  dealership_admin: "Dealership admin",
  user: "Trainee",
};

/** A person's name, or their email when they have none. */
export function displayName(user: Pick<UserItem, "email" | "first_name" | "last_name">): string {
  return [user.first_name, user.last_name].filter(Boolean).join(" ") || user.email;
}

/**
 * Roles a new user may be given on the Users page as it is scoped: a dealership's staff
 * when a dealership is in scope; only another super admin (who belongs to none) for a
 * super admin looking at every dealership. The API grants super_admin to super admins only.
 */
export function creatableRoles(scope: DealershipScope): Role[] {
  if (scope.id === null) return scope.named ? ["super_admin"] : [];
  return ["user", "dealership_admin"];
}

/**
 * Roles `user` may be moved to by `me`: none for oneself (an admin would lock themselves
 * out) nor for a super admin (the API refuses a move in or out of super_admin).
 */
export function roleChoices(me: Me, user: UserItem): Role[] {
  if (user.id === me.id || user.role === "super_admin") return [];
  return ["user", "dealership_admin"];
}

export interface NewUserForm {
  email: string;
  password: string;
  role: Role;
  first_name: string;
  last_name: string;
}

export interface NewUserBody {
  email: string;
  password: string;
  role: Role;
  first_name?: string;
  last_name?: string;
  dealership_id?: string;
}

/**
 * The POST /v1/users body: names trimmed and left out when empty; a super admin names the
 * dealership in scope, except for a new super admin, who belongs to none.
 */
export function newUserBody(form: NewUserForm, scope: DealershipScope): NewUserBody {
  const body: NewUserBody = { email: form.email.trim(), password: form.password, role: form.role };
  const first = form.first_name.trim();
  const last = form.last_name.trim();
  if (first) body.first_name = first;
  if (last) body.last_name = last;
  return form.role === "super_admin" ? body : scope.body(body);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * A monthly token budget as typed: empty is null (the service default), digits with
 * optional thousands separators (`,`, `_`, spaces) are the budget, 0 is unlimited.
 */
export function parseBudget(text: string): Parsed<number | null> {
  const compact = text.replace(/[\s,_]/g, "");
  if (compact === "") return { ok: true, value: null };
  if (!/^\d+$/.test(compact)) {
    return { ok: false, error: "Enter a whole number of tokens, 0 for unlimited, or nothing." };
  }
  const value = Number(compact);
  if (!Number.isSafeInteger(value)) {
    return { ok: false, error: `Enter at most ${Number.MAX_SAFE_INTEGER} tokens.` };
  }
  return { ok: true, value };
}

const COUNT = new Intl.NumberFormat("en-US");

/** A dealership's own monthly token budget as a reader should see it. */
export function budgetLabel(budget: number | null): string {
  if (budget === null) return "service default";
  if (budget === 0) return "unlimited";
  return `${COUNT.format(budget)} tokens a month`;
}

/**
 * Every item of a cursor-paginated list, page after page, up to `maxPages` pages (a bound
 * against a server that never stops answering a cursor).
 */
export async function collectPages<T>(
  fetchPage: (cursor: string | null) => Promise<Page<T>>,
  maxPages = 50,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < maxPages; pages++) {
    const page: Page<T> = await fetchPage(cursor);
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

/** The part of `ApiClient` that `everyItem` uses. */
export interface JsonClient {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * Every item of the list at `path` (which may carry a query already), read 200 at a
 * time: for a picker that must offer all of them (every scenario, every person), where
 * one page of 100 left the newer ones out.
 */
export function everyItem<T>(client: JsonClient, path: string): Promise<T[]> {
  return collectPages((cursor) =>
    client.request<Page<T>>("GET", withQuery(path, { limit: "200", cursor: cursor ?? undefined })),
  );
}
