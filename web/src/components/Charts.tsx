/** Small SVG charts drawn from the data (no chart library): a line over weeks, and bars. */
import { chartPoints, linePath, percent } from "../lib/manage";

export function LineChart(props: {
  label: string;
  labels: string[];
  values: (number | null)[];
  max: number;
  unit?: string;
}) {
  const width = 560;
  const height = 160;
  const points = chartPoints(props.values, width, height, props.max, 16);
  const shown = props.values.filter((v) => v !== null).length;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${props.label}: ${shown} of ${props.values.length} weeks with data`}
      >
        <line x1="16" y1={height - 16} x2={width - 16} y2={height - 16} class="axis" />
        <line x1="16" y1="16" x2={width - 16} y2="16" class="grid" />
        <path d={linePath(points)} class="line" />
        {points.map(
          (p, i) =>
            p && (
              <circle key={props.labels[i]} cx={p.x} cy={p.y} r="4" class="dot">
                <title>
                  {props.labels[i]}: {p.value}
                  {props.unit ?? ""}
                </title>
              </circle>
            ),
        )}
      </svg>
      <figcaption class="muted">
        {props.label} (0–{props.max}
        {props.unit ?? ""}), weeks {props.labels[0] ?? ""} to{" "}
        {props.labels[props.labels.length - 1] ?? ""}
      </figcaption>
    </figure>
  );
}

export function RateBars(props: {
  items: { key: string; title: string; rate: number; detail: string }[];
}) {
  return (
    <ul class="bars">
      {props.items.map((item) => (
        <li key={item.key}>
          <span class="bar-label">{item.title}</span>
          <span class="bar-track" aria-hidden="true">
            <span class="bar-fill" style={{ width: `${Math.round(item.rate * 100)}%` }} />
          </span>
          <span class="bar-value">
            {percent(item.rate)} <span class="muted">({item.detail})</span>
          </span>
        </li>
      ))}
    </ul>
  );
}
