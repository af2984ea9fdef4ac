/** An error as the user should read it: the problem+json `detail`, and a retry when possible. */
import { ApiError, NetworkError } from "../api/client";

export function describe(error: unknown): string {
  if (error instanceof ApiError || error instanceof NetworkError) return error.message;
  return "Something went wrong. Please try again.";
}

export function ErrorMessage(props: { error: unknown; onRetry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="error" role="alert">
      <span>{describe(props.error)}</span>
      {props.onRetry && (
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
