/** Thumbs up/down on an answer, with a reason; "Report inaccurate" is a down-vote with one. */
import { useState } from "preact/hooks";
import { useSession } from "../app";
import { ErrorMessage } from "./ErrorMessage";

type Rating = "up" | "down";

/** A thumb drawn inline (no icon font or emoji font needed). */
function Thumb(props: { down?: boolean }) {
  return (
    <svg
      viewBox="0 0 24 24"
      width="18"
      height="18"
      aria-hidden="true"
      class={props.down ? "thumb down" : "thumb"}
    >
      <path
        fill="currentColor"
        d="M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10c0 1.1.9 2 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"
      />
    </svg>
  );
}

export function Feedback(props: { messageId: string }) {
  const { client, scope } = useSession();
  const [rating, setRating] = useState<Rating | null>(null);
  const [asking, setAsking] = useState<Rating | null>(null);
  const [reason, setReason] = useState("");
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reasonId = `reason-${props.messageId}`;

  async function send(value: Rating, why: string) {
    setError(null);
    try {
      await client.request(
        "POST",
        `/v1/messages/${props.messageId}/feedback`,
        scope.body({ rating: value, reason: why.trim() || null }),
      );
      setRating(value);
      setSaved(true);
      setAsking(null);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <div class="feedback">
      <button
        type="button"
        aria-pressed={rating === "up"}
        aria-label="Helpful answer"
        onClick={() => setAsking("up")}
      >
        <Thumb />
      </button>
      <button
        type="button"
        aria-pressed={rating === "down"}
        aria-label="Unhelpful answer"
        onClick={() => setAsking("down")}
      >
        <Thumb down />
      </button>
      <button type="button" class="link" onClick={() => setAsking("down")}>
        Report inaccurate
      </button>
      {saved && !asking && <span role="status">Thanks, your feedback was saved.</span>}
      {asking && (
        <form
          class="reason"
          onSubmit={(event) => {
            event.preventDefault();
            void send(asking, reason);
          }}
        >
          <label for={reasonId}>
            {asking === "down" ? "What is wrong or inaccurate?" : "What was helpful? (optional)"}
          </label>
          <textarea
            id={reasonId}
            maxLength={2000}
            required={asking === "down"}
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
          <div class="row">
            <button type="submit" class="primary">
              {asking === "down" ? "Send report" : "Send"}
            </button>
            <button type="button" onClick={() => setAsking(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorMessage error={error} onRetry={asking ? undefined : () => setError(null)} />
    </div>
  );
}
