/** Users (admins): a dealership's people, or for a super admin every dealership's and the
 * super admins; add people, change roles, deactivate, sign out everywhere. */
import type { UserItem } from "../api/manager";
import { useSession } from "../app";
import { ErrorMessage } from "../components/ErrorMessage";
import { newestFirst, usePagedList } from "../lib/paged";
import { NewUserForm, UserCard } from "./UserParts";

const PAGE_SIZE = 50;

export function UsersPage() {
  const { client, scope, dealerships } = useSession();
  const list = usePagedList(newestFirst<UserItem>(client, scope.path("/v1/users"), PAGE_SIZE));
  const { items: users, setItems: setUsers, next, loaded, loading, error, load } = list;

  const dealershipName = (id: string | null) =>
    id === null ? "no dealership" : (dealerships.find((d) => d.id === id)?.name ?? id);
  let intro = "The people of your dealership.";
  if (scope.named) {
    intro = scope.id
      ? `The people of ${dealershipName(scope.id)}.`
      : "Everyone: the people of every dealership, and the super admins.";
  }
  return (
    <section class="panel">
      <h1>Users</h1>
      <p class="muted">{intro}</p>
      <NewUserForm onCreated={(created) => setUsers((all) => [created, ...all])} />
      <h2>People</h2>
      <ErrorMessage error={error} onRetry={() => load(null)} />
      <ul class="cards" aria-label="People">
        {users.map((u) => (
          <UserCard
            key={u.id}
            user={u}
            dealership={scope.named && !scope.id ? dealershipName(u.dealership_id) : undefined}
            onChanged={(updated) =>
              setUsers((all) => all.map((one) => (one.id === updated.id ? updated : one)))
            }
          />
        ))}
      </ul>
      {loaded && users.length === 0 && <p class="muted">Nobody yet.</p>}
      {next && (
        <button type="button" disabled={loading} onClick={() => load(next)}>
          {loading ? "Loading…" : "Show more people"}
        </button>
      )}
    </section>
  );
}
