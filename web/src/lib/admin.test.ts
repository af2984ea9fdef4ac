import { describe, expect, it } from "vitest";
import type { UserItem } from "../api/manager";
import type { Me, Page, Role } from "../api/types";
import {
  budgetLabel,
  collectPages,
  creatableRoles,
  displayName,
  everyItem,
  newUserBody,
  parseBudget,
  roleChoices,
} from "./admin";
import { dealershipScope } from "./scope";

const DEALERSHIP = "0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90";

function me(role: Role, dealership_id: string | null = DEALERSHIP): Me {
  return {
    id: "me",
    email: "me@example.com",
    role,
    dealership_id,
    first_name: null,
    last_name: null,
  };
}

function user(role: Role, id = "other"): UserItem {
  return {
    id,
    email: `${id}@example.com`,
    role,
    dealership_id: role === "super_admin" ? null : DEALERSHIP,
    first_name: null,
    last_name: null,
    active: true,
  };
}

const form = {
  email: "  robin@example.com ",
  password: " a long password ",
  role: "user" as Role,
  first_name: " Robin ",
  last_name: "",
};

describe("displayName", () => {
  it("joins the names present, else shows the email", () => {
    expect(displayName({ email: "a@b.c", first_name: "Dana", last_name: null })).toBe("Dana");
    expect(displayName({ email: "a@b.c", first_name: "Dana", last_name: "Lee" })).toBe("Dana Lee");
    expect(displayName({ email: "a@b.c", first_name: null, last_name: "" })).toBe("a@b.c");
  });
});

describe("creatableRoles", () => {
  it("offers a dealership's staff roles to its admin", () => {
    expect(creatableRoles(dealershipScope(me("dealership_admin"), null))).toEqual([
      "user",
      "dealership_admin",
    ]);
  });
  it("offers a super admin staff roles in a picked dealership, and super admins otherwise", () => {
    const root = me("super_admin", null);
    expect(creatableRoles(dealershipScope(root, DEALERSHIP))).toEqual(["user", "dealership_admin"]);
    expect(creatableRoles(dealershipScope(root, null))).toEqual(["super_admin"]);
  });
});

describe("roleChoices", () => {
  it("lets an admin move staff between the dealership roles", () => {
    expect(roleChoices(me("dealership_admin"), user("user"))).toEqual(["user", "dealership_admin"]);
  });
  it("offers no role change to oneself or for a super admin", () => {
    expect(roleChoices(me("dealership_admin"), user("dealership_admin", "me"))).toEqual([]);
    expect(roleChoices(me("super_admin", null), user("super_admin"))).toEqual([]);
  });
});

describe("newUserBody", () => {
  it("trims the email and names, keeps the password as typed, drops empty names", () => {
    const body = newUserBody(form, dealershipScope(me("dealership_admin"), null));
    expect(body).toEqual({
      email: "robin@example.com",
      password: " a long password ",
      role: "user",
      first_name: "Robin",
    });
  });
  it("names the picked dealership for a super admin", () => {
    const body = newUserBody(form, dealershipScope(me("super_admin", null), DEALERSHIP));
    expect(body.dealership_id).toBe(DEALERSHIP);
  });
  it("names no dealership for a new super admin", () => {
    const scope = dealershipScope(me("super_admin", null), DEALERSHIP);
    expect(newUserBody({ ...form, role: "super_admin" }, scope)).not.toHaveProperty(
      "dealership_id",
    );
  });
});

describe("parseBudget", () => {
  it("reads empty as the service default and 0 as unlimited", () => {
    expect(parseBudget("  ")).toEqual({ ok: true, value: null });
    expect(parseBudget("0")).toEqual({ ok: true, value: 0 });
  });
  it("accepts thousands separators", () => {
    expect(parseBudget("2,000,000")).toEqual({ ok: true, value: 2_000_000 });
    expect(parseBudget("1 500_000")).toEqual({ ok: true, value: 1_500_000 });
  });
  it("refuses what is not a whole number of tokens", () => {
    for (const text of ["-5", "1.5", "1e6", "lots"]) {
      expect(parseBudget(text).ok, text).toBe(false);
    }
    expect(parseBudget("9007199254740993")).toEqual({
      ok: false,
      error: "Enter at most 9007199254740991 tokens.",
    });
  });
});

describe("budgetLabel", () => {
  it("names the default, unlimited and a count", () => {
    expect(budgetLabel(null)).toBe("service default");
    expect(budgetLabel(0)).toBe("unlimited");
    expect(budgetLabel(2_500_000)).toBe("2,500,000 tokens a month");
  });
});

describe("collectPages", () => {
  it("follows next_cursor until the last page", async () => {
    const pages: Record<string, Page<number>> = {
      first: { items: [1, 2], next_cursor: "b" },
      b: { items: [3], next_cursor: "c" },
      c: { items: [4], next_cursor: null },
    };
    const asked: (string | null)[] = [];
    const items = await collectPages(async (cursor) => {
      asked.push(cursor);
      return pages[cursor ?? "first"] as Page<number>;
    });
    expect(items).toEqual([1, 2, 3, 4]);
    expect(asked).toEqual([null, "b", "c"]);
  });
  it("stops after maxPages", async () => {
    let calls = 0;
    const items = await collectPages(async () => {
      calls++;
      return { items: [calls], next_cursor: "again" };
    }, 3);
    expect(items).toEqual([1, 2, 3]);
    expect(calls).toBe(3);
  });
});

describe("everyItem", () => {
  it("reads every page of 200, keeping the path's own query", async () => {
    const asked: string[] = [];
    const client = {
      async request<T>(_method: string, path: string): Promise<T> {
        asked.push(path);
        const page = path.includes("cursor=c2")
          ? { items: ["s3"], next_cursor: null }
          : { items: ["s1", "s2"], next_cursor: "c2" };
        return page as T;
      },
    };
    expect(await everyItem<string>(client, "/v1/scenarios?dealership_id=d1")).toEqual([
      "s1",
      "s2",
      "s3",
    ]);
    expect(asked).toEqual([
      "/v1/scenarios?dealership_id=d1&limit=200",
      "/v1/scenarios?dealership_id=d1&limit=200&cursor=c2",
    ]);
    expect(await everyItem<string>(client, "/v1/users")).toHaveLength(3);
    expect(asked[2]).toBe("/v1/users?limit=200");
  });
});
