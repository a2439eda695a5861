/** Signed out: paste a token (local mode) or go to the issuer's sign-in page (OIDC). */
import { useId, useState, type FormEvent } from "react";

interface SignInProps {
  mode: "token" | "oidc";
  error?: string | undefined;
  busy?: boolean;
  onToken?: (token: string) => void;
  onSignIn?: () => void;
}

export function SignIn({ mode, error, busy = false, onToken, onSignIn }: SignInProps) {
  const [token, setToken] = useState("");
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (mode === "token") onToken?.(token);
    else onSignIn?.();
  };
  return (
    <main className="signin">
      <form className="signin-card" data-testid="sign-in-form" data-mode={mode} onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>Realtime admin hub</h1>
        <p>Sign in to see the live dashboard.</p>
        {error && (
          <p className="signin-error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        {mode === "token" ? (
          <>
            <label htmlFor={`${id}-token`}>Admin token (JWT)</label>
            <input
              id={`${id}-token`}
              className="input"
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={token}
              onChange={(event) => setToken(event.target.value)}
              data-testid="sign-in-token"
              required
            />
            <button type="submit" className="button button-primary" data-testid="sign-in-submit" disabled={busy || token.trim() === ""}>
              Sign in
            </button>
            <p className="muted small">
              Locally, <code>make dev</code> prints a ready link (<code>#token=…</code>); <code>make -s token SUB=you ROLES=admin</code> mints another. The token stays in this
              tab only.
            </p>
          </>
        ) : (
          <button type="submit" className="button button-primary" data-testid="sign-in-oidc" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        )}
      </form>
    </main>
  );
}
