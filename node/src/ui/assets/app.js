// The shell: hash routes (`#/secrets`, `#/kv/<mount>/show/<path>`, ...), the navigation, and the
// order every page load follows: sealed status first (init or unseal forms), then sign-in, then
// the page. A page is `async (ctx) => content`; the shell places it unless the user has moved on.

import { api, session, errorsOf } from './api.js';
import { h, replace, errorBox, title } from './dom.js';
import * as sessionPages from './pages/session.js';
import * as secrets from './pages/secrets.js';
import * as kv from './pages/kv.js';
import * as access from './pages/access.js';
import * as policies from './pages/policies.js';
import * as status from './pages/status.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

const PAGES = {
  secrets: secrets.engines,
  transit: secrets.transit,
  kv: kv.page,
  access: access.page,
  policies: policies.page,
  status: status.page,
};

const LINKS = [
  ['secrets', 'Secrets'],
  ['access', 'Access'],
  ['policies', 'Policies'],
  ['status', 'Status'],
];

let generation = 0;

function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const segments = raw === '' ? [] : raw.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s;
    }
  });
  return { page: segments[0] || '', params: segments.slice(1) };
}

/** Navigate to `hash` (or render again when already there). */
function go(hash) {
  if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function drawNav(signedIn, current) {
  if (!signedIn) {
    replace(nav);
    return;
  }
  const links = LINKS.map(([page, label]) => h('li', {},
    h('a', { href: `#/${page}`, 'aria-current': page === current ? 'page' : null }, label)));
  const signOut = h('button', {
    type: 'button',
    class: 'link',
    onclick: () => {
      session.clear();
      go('#/login');
    },
  }, 'Sign out');
  replace(nav, h('ul', {}, links, h('li', {}, signOut)));
}

async function render() {
  generation += 1;
  const mine = generation;
  const current = () => mine === generation;
  const { page, params } = route();
  const place = (...content) => {
    if (!current()) return;
    replace(main, ...content);
    const heading = main.querySelector('h1');
    if (heading) heading.focus();
  };
  let status;
  try {
    status = await api('GET', 'sys/seal-status', undefined, { anonymous: true });
  } catch (e) {
    drawNav(false);
    place(title('Coffer'), errorBox(errorsOf(e)));
    return;
  }
  const ctx = { main, go, render, place, current, status, params };
  let view = PAGES[page];
  if (!status.initialized) {
    view = sessionPages.init;
  } else if (status.sealed) {
    view = sessionPages.unseal;
  } else if (!session.token || page === 'login') {
    view = sessionPages.login;
  } else if (!view) {
    go('#/secrets');
    return;
  }
  drawNav(view === PAGES[page] && Boolean(session.token) && !status.sealed && status.initialized, page);
  try {
    const content = await view(ctx);
    if (content) place(...[content].flat());
  } catch (e) {
    place(title('Error'), errorBox(errorsOf(e)));
  }
}

window.addEventListener('hashchange', render);
render();
