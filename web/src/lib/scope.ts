/**
 * Which dealership the pages act on. A dealership admin or user is confined to their own
 * and never names it; a super admin belongs to none and names the one they picked as
 * `dealership_id` (query parameter for reads, body field for writes), as the API asks.
 */
import type { Me } from "../api/types";
import { withQuery } from "./manage";

export interface DealershipScope {
  /** The dealership the pages act on; null for a super admin who has picked none. */
  readonly id: string | null;
  /** Whether requests must name the dealership (a super admin's do). */
  readonly named: boolean;
  /** `path` with `dealership_id` added when the requests must name it and one is picked. */
  path(path: string): string;
  /** `body` with `dealership_id` added on the same condition. */
  body<T extends object>(body: T): T & { dealership_id?: string };
}

export function dealershipScope(me: Me, picked: string | null): DealershipScope {
  const named = me.role === "super_admin";
  const id = named ? picked : me.dealership_id;
  const add = named && picked !== null;
  return {
    id,
    named,
    path: (path) => (add ? withQuery(path, { dealership_id: picked ?? undefined }) : path),
    body: (body) => (add ? { ...body, dealership_id: picked ?? undefined } : body),
  };
}

const PICK_KEY = "avataradam.dealership";

/** The super admin's picked dealership, kept for the tab like the refresh token. */
export function loadPick(storage: Storage = sessionStorage): string | null {
  return storage.getItem(PICK_KEY);
}

export function savePick(id: string | null, storage: Storage = sessionStorage): void {
  if (id) storage.setItem(PICK_KEY, id);
  else storage.removeItem(PICK_KEY);
}
