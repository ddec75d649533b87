// The only way the app talks to anything: `/v1` on this page's own origin, with the token from
// sessionStorage as X-Vault-Token. No cookie is sent (`credentials: 'omit'`).

const KEY = 'coffer.token';

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** An error answer: the HTTP status and Vault's `errors`. */
export class ApiError extends Error {
  constructor(status, errors, body = null) {
    super(errors.join('; '));
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/**
 * `api('GET', 'sys/mounts')`; `LIST` becomes `GET ?list=true`. Resolves to the JSON body (null for
 * 204); rejects with ApiError carrying the server's `errors`.
 */
export async function api(method, path, body, { anonymous = false } = {}) {
  const headers = {};
  const token = session.token;
  if (token && !anonymous) headers['X-Vault-Token'] = token;
  let url = `/v1/${path}`;
  let verb = method;
  if (method === 'LIST') {
    verb = 'GET';
    url += `${url.includes('?') ? '&' : '?'}list=true`;
  }
  const init = { method: verb, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, [`cannot reach the server: ${e.message}`]);
  }
  if (resp.status === 204) return null;
  let json = null;
  try {
    json = await resp.json();
  } catch (e) {
    json = null;
  }
  if (!resp.ok) {
    const errors = json && Array.isArray(json.errors) ? json.errors : [`${resp.status} ${resp.statusText}`];
    throw new ApiError(resp.status, errors, json);
  }
  return json;
}

/** Keys of a LIST answer; a 404 (nothing there yet) is an empty list. */
export async function list(path) {
  try {
    const resp = await api('LIST', path);
    return (resp && resp.data && resp.data.keys) || [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return [];
    throw e;
  }
}

/** The error list of anything thrown. */
export function errorsOf(e) {
  return e instanceof ApiError ? e.errors : [String(e && e.message ? e.message : e)];
}
