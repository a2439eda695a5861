/** Sign-in, then the dashboard. A token the hub refuses mid-session brings the sign-in form
 * over the dashboard, which keeps its state and resumes every group once signed in again. */
import type { MeResponse, RealtimeError } from "@realtime-hub/client";
import { useCallback, useEffect, useRef, useState } from "react";
import { OidcAuth, OidcError } from "./auth/oidc";
import { SignInRequired, whoAmI } from "./auth/session";
import type { TokenAuth } from "./auth/token-auth";
import { ActivityFeed } from "./components/ActivityFeed";
import { AlertCenter, Toasts } from "./components/AlertCenter";
import { Analytics } from "./components/Analytics";
import { DashboardContext } from "./components/context";
import { Header } from "./components/Header";
import { Presence } from "./components/Presence";
import { PublishForm } from "./components/PublishForm";
import { SignIn } from "./components/SignIn";
import { SystemStatus } from "./components/SystemStatus";
import type { DashboardConfig } from "./config";
import { Dashboard } from "./model/dashboard";

type Auth = TokenAuth | OidcAuth;

type Phase = { kind: "checking" } | { kind: "signed-out"; error?: string } | { kind: "ready"; me?: MeResponse };

/** Whether the token may open the dashboard: its user (200, may connect), or why not. */
async function check(config: DashboardConfig, auth: Auth): Promise<{ me?: MeResponse; error?: string; signedOut?: boolean }> {
  try {
    const me = await whoAmI(config.restUrl, await auth.getToken());
    if (!me.canConnect) {
      auth.invalidate();
      return { signedOut: true, error: `${me.userId} may not open the dashboard (roles: ${me.roles.join(", ") || "none"}; it needs the connect role).` };
    }
    return { me };
  } catch (error) {
    if (error instanceof SignInRequired) {
      if (error.reason !== "none") auth.invalidate();
      return error.reason === "none" ? { signedOut: true } : { signedOut: true, error: error.message };
    }
    // The hub is unreachable or failing (not a refusal): open the dashboard, which keeps trying.
    return {};
  }
}

export function App({ config, auth }: { config: DashboardConfig; auth: Auth }) {
  const [phase, setPhase] = useState<Phase>({ kind: "checking" });

  const verify = useCallback(async () => {
    const outcome = await check(config, auth);
    if (outcome.signedOut) setPhase(outcome.error ? { kind: "signed-out", error: outcome.error } : { kind: "signed-out" });
    else setPhase(outcome.me ? { kind: "ready", me: outcome.me } : { kind: "ready" });
  }, [config, auth]);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      if (auth instanceof OidcAuth && auth.isCallback(new URL(location.href))) {
        try {
          await auth.completeSignIn(new URL(location.href));
        } catch (error) {
          if (!cancelled) setPhase({ kind: "signed-out", error: error instanceof OidcError ? error.message : String(error) });
          return;
        }
      }
      if (!cancelled) await verify();
    })();
    return () => {
      cancelled = true;
    };
  }, [auth, verify]);

  useEffect(() => {
    if (!(auth instanceof OidcAuth)) return;
    return auth.onSignedOut((reason) => setPhase({ kind: "signed-out", error: reason.message }));
  }, [auth]);

  const signOut = useCallback(() => {
    auth.signOut(); // OIDC: leaves the page for the issuer's sign-out
    setPhase({ kind: "signed-out" });
  }, [auth]);

  if (phase.kind === "checking") {
    return (
      <main className="signin" aria-busy="true">
        <p className="muted">Checking the sign-in…</p>
      </main>
    );
  }
  if (phase.kind === "signed-out") {
    return (
      <SignIn
        mode={auth.mode}
        error={phase.error}
        onToken={(token) => {
          try {
            (auth as TokenAuth).signIn(token);
          } catch (error) {
            setPhase({ kind: "signed-out", error: (error as Error).message });
            return;
          }
          setPhase({ kind: "checking" });
          void verify();
        }}
        onSignIn={() => void (auth as OidcAuth).beginSignIn()}
      />
    );
  }
  return <DashboardView config={config} auth={auth} me={phase.me} onSignOut={signOut} />;
}

function DashboardView({ config, auth, me, onSignOut }: { config: DashboardConfig; auth: Auth; me: MeResponse | undefined; onSignOut: () => void }) {
  const [dashboard, setDashboard] = useState<Dashboard>();
  const [reauth, setReauth] = useState<{ error: string } | undefined>();
  const [token, setToken] = useState<string>();
  const refused = useRef<(error: RealtimeError) => void>(() => {});

  refused.current = (error: RealtimeError) => {
    void (async () => {
      if (error.code === "Unauthorized") {
        auth.invalidate();
        if (auth instanceof OidcAuth) {
          try {
            await auth.getToken(); // a refresh may be all it takes
            dashboard?.connect();
            return;
          } catch {
            // sign in again below
          }
        }
        setReauth({ error: "The hub refused the token (expired or revoked): sign in again to resume." });
      } else {
        setReauth({ error: `Not allowed: ${error.message}` });
      }
    })();
  };

  useEffect(() => {
    const created = new Dashboard({
      wsUrl: config.wsUrl,
      restUrl: config.restUrl,
      getToken: async () => {
        const current = await auth.getToken();
        setToken(current);
        return current;
      },
      onRefused: (error) => refused.current(error),
    });
    if (me) created.connection.user(me);
    created.start();
    setDashboard(created);
    return () => created.dispose();
    // me is the user at sign-in; later changes come from the dashboard itself
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [config, auth]);

  if (!dashboard) return null;
  return (
    <DashboardContext.Provider value={dashboard}>
      <a className="skip-link" href="#alerts-start">
        Skip to alerts
      </a>
      <div className="app" inert={reauth ? true : undefined}>
        <Header onSignOut={onSignOut} token={token} />
        <main className="grid" id="main">
          <SystemStatus />
          <span id="alerts-start" tabIndex={-1} className="visually-hidden">
            Alerts
          </span>
          <AlertCenter />
          <ActivityFeed />
          <Analytics />
          <Presence />
          <PublishForm />
        </main>
      </div>
      <Toasts />
      {reauth && (
        <div className="overlay" role="dialog" aria-modal="true" aria-label="Sign in again">
          <SignIn
            mode={auth.mode}
            error={reauth.error}
            onToken={async (pasted) => {
              try {
                (auth as TokenAuth).signIn(pasted);
                const outcome = await check(config, auth);
                if (outcome.signedOut) {
                  setReauth({ error: outcome.error ?? "That token was refused." });
                  return;
                }
                if (outcome.me) dashboard.connection.user(outcome.me);
                setReauth(undefined);
                dashboard.connect(); // every group resumes from where it stopped
              } catch (error) {
                setReauth({ error: (error as Error).message });
              }
            }}
            onSignIn={() => void (auth as OidcAuth).beginSignIn()}
          />
        </div>
      )}
    </DashboardContext.Provider>
  );
}
