/** A super admin's choice of the dealership the page acts on. */
import { useSession } from "../app";
import { ErrorMessage } from "./ErrorMessage";

export function DealershipPicker(props: {
  /** Offer "every dealership" (no pick) as a choice, as the Users page does. */
  allowAll: boolean;
  error: unknown;
  onRetry: () => void;
}) {
  const { dealerships, scope, pick } = useSession();
  return (
    <div class="scope-bar">
      <label for="dealership-pick">Dealership</label>
      <select
        id="dealership-pick"
        value={scope.id ?? ""}
        onChange={(e) => pick(e.currentTarget.value || null)}
      >
        <option value="">
          {props.allowAll ? "Every dealership, and the super admins" : "Choose a dealership…"}
        </option>
        {dealerships.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
            {d.active ? "" : " (deactivated)"}
          </option>
        ))}
      </select>
      <ErrorMessage error={props.error} onRetry={props.onRetry} />
    </div>
  );
}
