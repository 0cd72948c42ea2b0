import { type ResultOf, ViewerDocument } from '@taskplane/client';
import { getContext, setContext } from 'svelte';
import { type Api, createApi } from './graphql/client.svelte';

export type Viewer = NonNullable<ResultOf<typeof ViewerDocument>['viewer']>;
export type Role = Viewer['role'];

const TOKEN_KEY = 'taskplane.token';

/** Roles that may change things (submit, cancel, retry, queue controls, dead-letter operations). */
const OPERATING_ROLES: readonly Role[] = ['OPERATOR', 'ADMIN'];

/**
 * Who is signed in and the API connection made with their token. The token is kept in
 * sessionStorage (this tab only) unless the operator asks to be remembered on this device.
 */
export class Session {
  api = $state.raw<Api | null>(null);
  viewer = $state.raw<Viewer | null>(null);
  /** Why the last sign-in failed, or why the session ended. */
  error = $state<string | null>(null);
  /** A sign-in (or the check of a stored token) is under way. */
  busy = $state(false);

  readonly #apiUrl: string;

  constructor(apiUrl: string) {
    this.#apiUrl = apiUrl;
  }

  /** Whether the signed-in role may change anything; viewers get no such controls at all. */
  get canOperate(): boolean {
    return this.viewer !== null && OPERATING_ROLES.includes(this.viewer.role);
  }

  /** Signs in again with the token kept from an earlier visit, if any. */
  async resume(): Promise<void> {
    const token = sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
    if (token) await this.signIn(token, localStorage.getItem(TOKEN_KEY) !== null);
  }

  /** Checks `token` with the `viewer` query and keeps the connection when the API accepts it. */
  async signIn(token: string, remember: boolean): Promise<boolean> {
    this.busy = true;
    this.error = null;
    const api = createApi({
      url: this.#apiUrl,
      token: token.trim(),
      onForbidden: () => this.signOut('The API no longer accepts this token. Sign in again.'),
    });
    const result = await api.client.query(ViewerDocument, {}).toPromise();
    this.busy = false;
    const viewer = result.data?.viewer;
    if (!viewer) {
      api.dispose();
      this.error = result.error?.networkError
        ? `Cannot reach the API at ${this.#apiUrl}.`
        : (result.error?.graphQLErrors[0]?.message ?? 'The API does not accept this token.');
      return false;
    }
    this.#forget();
    (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token.trim());
    this.api = api;
    this.viewer = viewer;
    return true;
  }

  signOut(reason: string | null = null): void {
    this.#forget();
    this.api?.dispose();
    this.api = null;
    this.viewer = null;
    this.error = reason;
  }

  #forget(): void {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
  }
}

const SESSION_KEY = Symbol('taskplane-session');

export function setSession(session: Session): void {
  setContext(SESSION_KEY, session);
}

export function getSession(): Session {
  return getContext<Session>(SESSION_KEY);
}

/** The signed-in API connection; only call from components rendered while signed in. */
export function getApi(): Api {
  const api = getSession().api;
  if (!api) throw new Error('getApi() called while signed out');
  return api;
}
