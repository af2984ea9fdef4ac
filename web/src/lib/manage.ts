/** Pure helpers of the manager pages: date ranges, chart scaling, CSV download, formats. */
import { ApiError, problemOf } from "../api/client";

/** YYYY-MM-DD of a date, in UTC (the API's days are UTC days). */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last `days` UTC days up to `today`, both included: {from, to}. */
export function lastDays(days: number, today: Date = new Date()): { from: string; to: string } {
  const start = new Date(today.getTime() - (days - 1) * 86_400_000);
  return { from: isoDay(start), to: isoDay(today) };
}

export interface Point {
  x: number;
  y: number;
  value: number;
}

/**
 * Points of a line chart: `values` spread evenly over `width` (a single value sits in the
 * middle), scaled from 0..`max` onto `height`..0 (SVG y grows downwards), inside `pad`.
 * `null` values are gaps: no point.
 */
export function chartPoints(
  values: (number | null)[],
  width: number,
  height: number,
  max: number,
  pad = 8,
): (Point | null)[] {
  const span = Math.max(max, 1e-9);
  const innerW = width - 2 * pad;
  const innerH = height - 2 * pad;
  return values.map((value, i) => {
    if (value === null) return null;
    const x = values.length === 1 ? width / 2 : pad + (innerW * i) / (values.length - 1);
    const clamped = Math.min(Math.max(value, 0), span);
    return { x, y: pad + innerH - (innerH * clamped) / span, value };
  });
}

/** SVG path of the points, a new segment after each gap. */
export function linePath(points: (Point | null)[]): string {
  let path = "";
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    path += `${pen ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`;
    pen = true;
  }
  return path;
}

/** A share 0..1 as "67%", or "–" for null. */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)}%`;
}

/** A score as "72.5", or "–" for null. */
export function score(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : String(value);
}

/** Adds `?key=value` pairs (skipping empty values) to a path. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  if (!text) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${text}`;
}

export interface RawClient {
  raw(path: string, init?: RequestInit): Promise<Response>;
}

/** Fetches `path` as CSV with the bearer header; throws ApiError on a refusal. */
export async function fetchCsv(client: RawClient, path: string): Promise<Blob> {
  const response = await client.raw(path, { headers: { accept: "text/csv" } });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const text = await response.text();
  return new Blob([text], { type: "text/csv;charset=utf-8" });
}

/** Fetches the CSV and has the browser save it as `filename`. */
export async function downloadCsv(client: RawClient, path: string, filename: string) {
  const blob = await fetchCsv(client, path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A `datetime-local` input's value (local time) as RFC 3339 with the local offset. */
export function localToRfc3339(value: string): string {
  const date = new Date(value);
  return date.toISOString();
}

/** An RFC 3339 instant as the `datetime-local` value in local time. */
export function rfc3339ToLocal(value: string): string {
  const date = new Date(value);
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}
