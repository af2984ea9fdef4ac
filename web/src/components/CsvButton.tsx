/** "Download CSV" of one list: fetched with the bearer header and saved as a file. */
import { useState } from "preact/hooks";
import { useSession } from "../app";
import { downloadCsv } from "../lib/manage";
import { ErrorMessage } from "./ErrorMessage";

export function CsvButton(props: { path: string; filename: string; what: string }) {
  const { client } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <span class="csv">
      <button
        type="button"
        class="link"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await downloadCsv(client, props.path, props.filename);
          } catch (caught) {
            setError(caught);
          } finally {
            setBusy(false);
          }
        }}
      >
        Download CSV<span class="visually-hidden"> of {props.what}</span>
      </button>
      <ErrorMessage error={error} />
    </span>
  );
}

export function RangePicker(props: { days: number; onChange: (days: number) => void }) {
  return (
    <span class="range">
      <label for="range">Range</label>
      <select
        id="range"
        value={String(props.days)}
        onChange={(e) => props.onChange(Number(e.currentTarget.value))}
      >
        <option value="7">Last 7 days</option>
        <option value="30">Last 30 days</option>
        <option value="90">Last 90 days</option>
        <option value="365">Last 365 days</option>
      </select>
    </span>
  );
}
