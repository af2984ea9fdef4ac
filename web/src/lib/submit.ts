/** A form's submission: busy while it runs, then what it saved or why it failed. */
import { useState } from "preact/hooks";

export interface Submission {
  busy: boolean;
  /** The last submission's failure (a problem+json `ApiError` or a network error), or null. */
  error: unknown;
  /** What the last successful submission says it saved, or null. */
  saved: string | null;
  /** The form's `onSubmit`: runs `action`, whose answer is shown as `saved`. */
  submit: (action: () => Promise<string>) => (event: Event) => Promise<void>;
}

export function useSubmission(): Submission {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);

  function submit(action: () => Promise<string>) {
    return async (event: Event) => {
      event.preventDefault();
      setError(null);
      setSaved(null);
      setBusy(true);
      try {
        setSaved(await action());
      } catch (caught) {
        setError(caught);
      } finally {
        setBusy(false);
      }
    };
  }
  return { busy, error, saved, submit };
}
