/** The Users page's parts: the form that adds a user, and one user's card with its actions. */
import { useState } from "preact/hooks";
import type { UserItem } from "../api/manager";
import type { Role } from "../api/types";
import { useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { creatableRoles, displayName, newUserBody, ROLE_LABELS, roleChoices } from "../lib/admin";
import { useEditorFocus } from "../lib/focus";
import { useSubmission } from "../lib/submit";

const PASSWORD_HINT = "12 to 256 characters. Share it with them privately.";

export function NewUserForm(props: { onCreated: (user: UserItem) => void }) {
  const { client, scope } = useSession();
  const roles = creatableRoles(scope);
  const [email, setEmail] = useState("");
  const [firstName, setFirstName] = useState("");
  const [lastName, setLastName] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>(roles[0] ?? "user");
  const { busy, error, saved, submit } = useSubmission();
  const create = submit(async () => {
    const form = { email, password, role, first_name: firstName, last_name: lastName };
    const created = await client.request<UserItem>("POST", "/v1/users", newUserBody(form, scope));
    props.onCreated(created);
    setEmail("");
    setFirstName("");
    setLastName("");
    setPassword("");
    return `${created.email} can now sign in (${ROLE_LABELS[created.role]}).`;
  });

  if (roles.length === 0) return null;
  return (
    <form class="admin-form" onSubmit={create} aria-labelledby="new-user-title">
      <h2 id="new-user-title">Add a user</h2>
      {scope.named && !scope.id && (
        <p class="muted wide">
          Choose a dealership above to add its people; here you add another super admin.
        </p>
      )}
      <label for="new-user-email">Email</label>
      <input
        id="new-user-email"
        type="email"
        required
        maxLength={320}
        autocomplete="off"
        value={email}
        onInput={(e) => setEmail(e.currentTarget.value)}
      />
      <label for="new-user-first">First name (optional)</label>
      <input
        id="new-user-first"
        maxLength={100}
        autocomplete="off"
        value={firstName}
        onInput={(e) => setFirstName(e.currentTarget.value)}
      />
      <label for="new-user-last">Last name (optional)</label>
      <input
        id="new-user-last"
        maxLength={100}
        autocomplete="off"
        value={lastName}
        onInput={(e) => setLastName(e.currentTarget.value)}
      />
      <label for="new-user-password">Password</label>
      <div class="field">
        <input
          id="new-user-password"
          type="password"
          required
          minLength={12}
          maxLength={256}
          autocomplete="new-password"
          aria-describedby="new-user-password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <span id="new-user-password-hint" class="muted">
          {PASSWORD_HINT}
        </span>
      </div>
      <label for="new-user-role">Role</label>
      <select
        id="new-user-role"
        value={role}
        onChange={(e) => setRole(e.currentTarget.value as Role)}
      >
        {roles.map((r) => (
          <option key={r} value={r}>
            {ROLE_LABELS[r]}
          </option>
        ))}
      </select>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Adding…" : "Add user"}
      </button>
      <ErrorMessage error={error} />
      {saved && <p role="status">{saved}</p>}
    </form>
  );
}

type Editor = "role" | "password";

export function UserCard(props: {
  user: UserItem;
  /** The user's dealership, shown when the list spans every dealership. */
  dealership?: string;
  onChanged: (user: UserItem) => void;
}) {
  const { client, me } = useSession();
  const u = props.user;
  const name = displayName(u);
  const self = u.id === me.id;
  const choices = roleChoices(me, u);
  const [editing, setEditing] = useState<Editor | null>(null);
  const [role, setRole] = useState<Role>(u.role);
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  useEditorFocus(editing, u.id);

  async function act(work: () => Promise<string>) {
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      setDone(await work());
      setEditing(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  const patch = (changes: object) =>
    client.request<UserItem>("PATCH", `/v1/users/${u.id}`, changes);

  function open(editor: Editor) {
    setError(null);
    setDone(null);
    setRole(u.role);
    setPassword("");
    setEditing(editor);
  }
  function changeRole(event: Event) {
    event.preventDefault();
    void act(async () => {
      const updated = await patch({ role });
      props.onChanged(updated);
      return `${name} is now ${ROLE_LABELS[updated.role]}, from their next request on.`;
    });
  }
  function resetPassword(event: Event) {
    event.preventDefault();
    void act(async () => {
      await patch({ password });
      setPassword("");
      return `${name}'s password is reset and every session of theirs has ended.`;
    });
  }
  function deactivate() {
    const question =
      `Deactivate ${name}? They are signed out everywhere at once and can no longer ` +
      "sign in. Their data is kept, and you can reactivate them.";
    if (!confirm(question)) return;
    void act(async () => {
      props.onChanged(await client.request<UserItem>("DELETE", `/v1/users/${u.id}`));
      return `${name} is deactivated and signed out everywhere.`;
    });
  }
  function reactivate() {
    void act(async () => {
      props.onChanged(await patch({ active: true }));
      return `${name} can sign in again.`;
    });
  }
  function signOutEverywhere() {
    if (!confirm(`Sign ${name} out of every session? They can sign in again.`)) return;
    void act(async () => {
      await client.request("POST", `/v1/users/${u.id}/sessions/revoke`);
      return `${name} is signed out everywhere.`;
    });
  }

  return (
    <li class="card" data-id={u.id} data-active={String(u.active)} data-role={u.role}>
      <h3>
        {name}
        {self && <span class="muted"> (you)</span>}
      </h3>
      {name !== u.email && <p class="muted">{u.email}</p>}
      <p>
        <span class="badge">{ROLE_LABELS[u.role]}</span>
        <span class={`badge ${u.active ? "done" : "overdue"}`}>
          {u.active ? "active" : "deactivated"}
        </span>
        {props.dealership && <span class="muted"> {props.dealership}</span>}
      </p>
      {editing === "role" && (
        <form class="inline-form" onSubmit={changeRole}>
          <label for={`role-field-${u.id}`}>New role for {name}</label>
          <select
            id={`role-field-${u.id}`}
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as Role)}
          >
            {choices.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
          <button type="submit" class="primary" disabled={busy || role === u.role}>
            Save role
          </button>
          <button type="button" onClick={() => setEditing(null)}>
            Cancel
          </button>
        </form>
      )}
      {editing === "password" && (
        <form class="inline-form" onSubmit={resetPassword}>
          <label for={`password-field-${u.id}`}>New password for {name}</label>
          <input
            id={`password-field-${u.id}`}
            type="password"
            required
            minLength={12}
            maxLength={256}
            autocomplete="new-password"
            aria-describedby={`password-hint-${u.id}`}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <button type="submit" class="primary" disabled={busy}>
            Reset password
          </button>
          <button type="button" onClick={() => setEditing(null)}>
            Cancel
          </button>
          <span id={`password-hint-${u.id}`} class="muted wide">
            {PASSWORD_HINT} Every session of theirs ends.
          </span>
        </form>
      )}
      {!editing && !self && (
        <div class="actions">
          {choices.length > 0 && (
            <button id={`role-button-${u.id}`} type="button" onClick={() => open("role")}>
              Change role<span class="visually-hidden"> of {name}</span>
            </button>
          )}
          <button id={`password-button-${u.id}`} type="button" onClick={() => open("password")}>
            Reset password<span class="visually-hidden"> of {name}</span>
          </button>
          {u.active ? (
            <button type="button" disabled={busy} onClick={deactivate}>
              Deactivate<span class="visually-hidden"> {name}</span>
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={reactivate}>
              Reactivate<span class="visually-hidden"> {name}</span>
            </button>
          )}
          {u.active && (
            <button type="button" disabled={busy} onClick={signOutEverywhere}>
              Sign out everywhere<span class="visually-hidden"> {name}</span>
            </button>
          )}
        </div>
      )}
      <ErrorMessage error={error} />
      {done && <p role="status">{done}</p>}
    </li>
  );
}
