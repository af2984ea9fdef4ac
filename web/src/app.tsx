/** The shell: who is signed in, navigation between pages, the router, and a super admin's
 * dealership picker. */
import { createContext, type JSX } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { Dealership } from "./api/admin";
import { ApiClient, browserTokenStore } from "./api/client";
import type { Me, Page } from "./api/types";
import { DealershipPicker } from "./components/DealershipPicker";
import { collectPages } from "./lib/admin";
import { withQuery } from "./lib/manage";
import { type DealershipScope, dealershipScope, loadPick, savePick } from "./lib/scope";
import { AssignmentsPage } from "./pages/Assignments";
import { ChatPage } from "./pages/Chat";
import { DealershipsPage } from "./pages/Dealerships";
import { DocumentsPage } from "./pages/Documents";
import { GapsPage } from "./pages/Gaps";
import { ReportsPage } from "./pages/Reports";
import { RoleplayPage } from "./pages/Roleplay";
import { SignInPage } from "./pages/SignIn";
import { TeamPage } from "./pages/Team";
import { UsagePage } from "./pages/Usage";
import { UsersPage } from "./pages/Users";

export interface Session {
  client: ApiClient;
  me: Me;
  /** The dealership the pages act on (a super admin's pick). */
  scope: DealershipScope;
  /** A super admin's dealerships, for the picker and for names; empty for anyone else. */
  dealerships: Dealership[];
  reloadDealerships: () => Promise<void>;
  /** A super admin picks the dealership the pages act on (null: none, or every one). */
  pick: (id: string | null) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}

export function navigate(path: string): void {
  if (location.pathname !== path) history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener("popstate", update);
    return () => removeEventListener("popstate", update);
  }, []);
  return path;
}

const client = new ApiClient({ store: browserTokenStore() });

export function isAdmin(me: Me): boolean {
  return me.role === "dealership_admin" || me.role === "super_admin";
}

type Audience = "anyone" | "admins" | "super_admins";

interface Route {
  title: string;
  audience: Audience;
  /** How the page needs a dealership: "required" (a super admin picks one first),
   * "optional" (none picked = every dealership), "none". */
  dealership: "required" | "optional" | "none";
  render: () => JSX.Element;
}

function route(path: string, me: Me): Route {
  const on = (prefix: string) => path.startsWith(prefix);
  if (on("/documents")) return admins("Documents", () => <DocumentsPage />);
  if (on("/reports")) return admins("Answer reports", () => <ReportsPage />);
  if (on("/team")) return admins("Team progress", () => <TeamPage path={path} />);
  if (on("/gaps")) return admins("Knowledge gaps", () => <GapsPage />);
  if (on("/usage")) return admins("Usage", () => <UsagePage />);
  if (on("/users")) return { ...admins("Users", () => <UsersPage />), dealership: "optional" };
  if (on("/dealerships")) {
    return {
      title: "Dealerships",
      audience: "super_admins",
      dealership: "none",
      render: () => <DealershipsPage />,
    };
  }
  if (on("/roleplay")) {
    // A super admin belongs to no dealership and cannot complete a roleplay (the API).
    return {
      title: "Roleplay",
      audience: "anyone",
      dealership: "none",
      render: () => <RoleplayPage path={path} />,
    };
  }
  if (on("/assignments")) {
    return {
      title: isAdmin(me) ? "Assignments" : "My assignments",
      audience: "anyone",
      dealership: "required",
      render: () => <AssignmentsPage />,
    };
  }
  return {
    title: "Chat with Adam",
    audience: "anyone",
    dealership: "required",
    render: () => <ChatPage path={path} />,
  };
}

function admins(title: string, render: () => JSX.Element): Route {
  return { title, audience: "admins", dealership: "required", render };
}

function allowed(audience: Audience, me: Me): boolean {
  if (audience === "admins") return isAdmin(me);
  if (audience === "super_admins") return me.role === "super_admin";
  return true;
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(client.signedIn);
  const [notice, setNotice] = useState<string | null>(null);
  const [picked, setPicked] = useState<string | null>(() => loadPick());
  const [dealerships, setDealerships] = useState<Dealership[]>([]);
  const [dealershipsError, setDealershipsError] = useState<unknown>(null);

  function pick(id: string | null) {
    savePick(id);
    setPicked(id);
  }

  useEffect(() => {
    client.onSignedOut = () => {
      setMe(null);
      pick(null);
      setNotice("Your session has ended. Please sign in again.");
      navigate("/sign-in");
    };
    if (client.signedIn) {
      client
        .request<Me>("GET", "/v1/me")
        .then(setMe)
        .catch(() => setMe(null))
        .finally(() => setChecking(false));
    }
  }, []);

  async function reloadDealerships() {
    setDealershipsError(null);
    try {
      const all = await collectPages((cursor) =>
        client.request<Page<Dealership>>(
          "GET",
          withQuery("/v1/dealerships", { limit: "200", cursor: cursor ?? undefined }),
        ),
      );
      setDealerships(all);
      setPicked((current) => {
        if (current === null || all.some((d) => d.id === current)) return current;
        savePick(null);
        return null;
      });
    } catch (caught) {
      setDealershipsError(caught);
    }
  }
  const superAdmin = me?.role === "super_admin";
  useEffect(() => {
    if (superAdmin) void reloadDealerships();
    else setDealerships([]);
  }, [me?.id, superAdmin]);

  if (checking) return <p class="loading">Loading…</p>;
  if (!me) {
    return (
      <SignInPage
        client={client}
        notice={notice}
        onSignedIn={(who) => {
          setNotice(null);
          setMe(who);
          // the address bar, not this render's path: it may predate the sign-out
          const at = location.pathname;
          if (at === "/" || at === "/sign-in") navigate("/chat");
        }}
      />
    );
  }
  const scope = dealershipScope(me, picked);
  const session: Session = { client, me, scope, dealerships, reloadDealerships, pick };
  const shown = route(path, me);
  const permitted = allowed(shown.audience, me);
  let page: JSX.Element;
  if (!permitted) page = <Forbidden audience={shown.audience} />;
  else if (scope.named && shown.dealership === "required" && scope.id === null) {
    page = <ChooseDealership title={shown.title} />;
  } else page = shown.render();
  document.title = `${shown.title} · AvatarAdam`;
  const on = (prefix: string) => path.startsWith(prefix);
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">AvatarAdam</span>
        <nav aria-label="Main">
          <NavLink href="/chat" current={path === "/" || on("/chat")}>
            Chat
          </NavLink>
          <NavLink href="/roleplay" current={on("/roleplay")}>
            Roleplay
          </NavLink>
          <NavLink href="/assignments" current={on("/assignments")}>
            {isAdmin(me) ? "Assignments" : "My assignments"}
          </NavLink>
          {isAdmin(me) && (
            <>
              <NavLink href="/team" current={on("/team")}>
                Team progress
              </NavLink>
              <NavLink href="/gaps" current={on("/gaps")}>
                Knowledge gaps
              </NavLink>
              <NavLink href="/documents" current={on("/documents")}>
                Documents
              </NavLink>
              <NavLink href="/reports" current={on("/reports")}>
                Reports
              </NavLink>
              <NavLink href="/usage" current={on("/usage")}>
                Usage
              </NavLink>
              <NavLink href="/users" current={on("/users")}>
                Users
              </NavLink>
            </>
          )}
          {superAdmin && (
            <NavLink href="/dealerships" current={on("/dealerships")}>
              Dealerships
            </NavLink>
          )}
        </nav>
        <span class="who">{me.email}</span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await client.signOut();
            pick(null);
            setMe(null);
            navigate("/sign-in");
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        {permitted && scope.named && shown.dealership !== "none" && (
          <DealershipPicker
            allowAll={shown.dealership === "optional"}
            error={dealershipsError}
            onRetry={reloadDealerships}
          />
        )}
        <div key={scope.id ?? "none"}>{page}</div>
      </main>
    </SessionContext.Provider>
  );
}

function NavLink(props: { href: string; current: boolean; children: string }) {
  return (
    <a
      href={props.href}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

function Forbidden(props: { audience: Audience }) {
  return (
    <section class="panel">
      <h1>Not available</h1>
      <p role="alert">
        {props.audience === "super_admins"
          ? "Only super admins can open this page."
          : "Only your dealership's admins can open this page."}
      </p>
    </section>
  );
}

function ChooseDealership(props: { title: string }) {
  return (
    <section class="panel">
      <h1>{props.title}</h1>
      <p>Choose the dealership to work on in the Dealership list above.</p>
    </section>
  );
}
