import { describe, expect, it } from "vitest";
import type { Me, Role } from "../api/types";
import { dealershipScope, loadPick, savePick } from "./scope";

const DEALERSHIP = "0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90";
const PICKED = "5d1e8a2b-0c3f-4b7a-8e6d-9f2a1c4b7e30";

function me(role: Role, dealership_id: string | null = DEALERSHIP): Me {
  return {
    id: "u",
    email: "a@example.com",
    role,
    dealership_id,
    first_name: null,
    last_name: null,
  };
}

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

describe("dealershipScope", () => {
  it("leaves a dealership admin's requests alone, whatever was picked", () => {
    const scope = dealershipScope(me("dealership_admin"), PICKED);
    expect(scope.id).toBe(DEALERSHIP);
    expect(scope.named).toBe(false);
    expect(scope.path("/v1/users?limit=50")).toBe("/v1/users?limit=50");
    expect(scope.body({ note: "x" })).toEqual({ note: "x" });
  });

  it("names the picked dealership in a super admin's query and body", () => {
    const scope = dealershipScope(me("super_admin", null), PICKED);
    expect(scope.id).toBe(PICKED);
    expect(scope.named).toBe(true);
    expect(scope.path("/v1/documents")).toBe(`/v1/documents?dealership_id=${PICKED}`);
    expect(scope.path("/v1/users?limit=50")).toBe(`/v1/users?limit=50&dealership_id=${PICKED}`);
    expect(scope.body({ mode: "training" })).toEqual({ mode: "training", dealership_id: PICKED });
  });

  it("names nothing for a super admin who picked no dealership", () => {
    const scope = dealershipScope(me("super_admin", null), null);
    expect(scope.id).toBeNull();
    expect(scope.path("/v1/users")).toBe("/v1/users");
    expect(scope.body({ a: 1 })).toEqual({ a: 1 });
  });
});

describe("the picked dealership", () => {
  it("is kept in storage until cleared", () => {
    const storage = memoryStorage();
    expect(loadPick(storage)).toBeNull();
    savePick(PICKED, storage);
    expect(loadPick(storage)).toBe(PICKED);
    savePick(null, storage);
    expect(loadPick(storage)).toBeNull();
  });
});
