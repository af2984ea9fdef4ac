import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import {
  chartPoints,
  fetchCsv,
  lastDays,
  linePath,
  localToRfc3339,
  percent,
  rfc3339ToLocal,
  withQuery,
} from "./manage";

describe("lastDays", () => {
  it("counts both ends in UTC days", () => {
    expect(lastDays(30, new Date("2026-03-31T23:30:00Z"))).toEqual({
      from: "2026-03-02",
      to: "2026-03-31",
    });
    expect(lastDays(1, new Date("2026-01-01T00:00:00Z"))).toEqual({
      from: "2026-01-01",
      to: "2026-01-01",
    });
  });
  it("crosses a year", () => {
    expect(lastDays(7, new Date("2026-01-03T12:00:00Z")).from).toBe("2025-12-28");
  });
});

describe("chartPoints", () => {
  it("spreads values over the width and scales 0..max onto height..0", () => {
    const points = chartPoints([0, 50, 100], 120, 60, 100, 10);
    expect(points.map((p) => p?.x)).toEqual([10, 60, 110]);
    expect(points.map((p) => p?.y)).toEqual([50, 30, 10]);
  });
  it("leaves null values out and clamps out-of-range ones", () => {
    const points = chartPoints([null, 150, -5], 100, 100, 100, 0);
    expect(points[0]).toBeNull();
    expect(points[1]?.y).toBe(0);
    expect(points[2]?.y).toBe(100);
    expect(points[1]?.value).toBe(150);
  });
  it("centres a single value", () => {
    expect(chartPoints([5], 200, 100, 10, 0)[0]?.x).toBe(100);
  });
  it("draws a new segment after a gap", () => {
    const path = linePath(chartPoints([10, null, 10, 10], 30, 10, 10, 0));
    expect(path).toBe("M0.0,0.0M20.0,0.0L30.0,0.0");
  });
});

describe("formats", () => {
  it("rounds shares to percent, dash for null", () => {
    expect(percent(0.666)).toBe("67%");
    expect(percent(null)).toBe("–");
  });
  it("adds query parameters, skipping empty ones", () => {
    expect(withQuery("/v1/x", { from: "2026-01-01", status: "" })).toBe("/v1/x?from=2026-01-01");
    expect(withQuery("/v1/x?a=1", { b: "2 3" })).toBe("/v1/x?a=1&b=2+3");
    expect(withQuery("/v1/x", {})).toBe("/v1/x");
  });
  it("round-trips a datetime-local value through RFC 3339", () => {
    const local = "2026-05-04T09:30";
    const instant = localToRfc3339(local);
    expect(instant).toMatch(/Z$/);
    expect(new Date(instant).getTime()).toBe(new Date(local).getTime());
    expect(rfc3339ToLocal(instant)).toBe(local);
  });
});

describe("fetchCsv", () => {
  it("asks for text/csv and answers the body as a blob", async () => {
    const raw = vi.fn(
      async (_path: string, _init?: RequestInit) =>
        new Response("week,scored\r\n2026-03-02,4\r\n", { status: 200 }),
    );
    const blob = await fetchCsv({ raw }, "/v1/analytics/overview?section=weekly");
    expect(raw).toHaveBeenCalledOnce();
    const [path, init] = raw.mock.calls[0] ?? [];
    expect(path).toBe("/v1/analytics/overview?section=weekly");
    expect(new Headers(init?.headers).get("accept")).toBe("text/csv");
    expect(blob.type).toContain("text/csv");
    expect(await blob.text()).toBe("week,scored\r\n2026-03-02,4\r\n");
  });
  it("throws the problem of a refusal", async () => {
    const raw = async () =>
      new Response(JSON.stringify({ status: 403, code: "forbidden", detail: "admins only" }), {
        status: 403,
      });
    const failure = fetchCsv({ raw }, "/v1/analytics/overview");
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });
});
