// The status page of presence-b2b: plain JavaScript, no build step, no framework.
// Everything comes from the daemon's HTTP API on this origin:
//   GET /v1/status/events   Server-Sent Events: a snapshot of every subscription, then what changes
//   POST /v1/subscriptions  the "Add a subscription" form
//   DELETE /v1/subscriptions/:id
// With http.token set, the API wants `Authorization: Bearer <token>`. The user gives the token once
// (or opens the page as /#token=<token>); it stays in this tab's sessionStorage. EventSource cannot
// send a header, so the page trades the token for a short-lived stream token
// (POST /v1/stream-tokens) and opens the stream with ?access_token=.

const TOKEN_KEY = 'presence-b2b.token';
const QUEUE = 'status-page';
const MAX_NOTIFICATIONS = 20;
const STATES = ['none', 'pending', 'active', 'terminated', 'rejected'];

const subscriptions = new Map(); // id → subscription view (as the API shows it)
const notifications = []; // newest first: status views
let source;
let reconnectTimer;
let renderScheduled = false;

const $ = (id) => document.getElementById(id);

function takeTokenFromLocation() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match !== null) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

async function api(method, path, body) {
  const headers = {};
  const t = token();
  if (t !== undefined) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) askForToken();
  return response;
}

function setConnection(state, text) {
  const badge = $('connection');
  badge.dataset.state = state;
  badge.textContent = text;
}

function askForToken() {
  if (source !== undefined) source.close();
  source = undefined;
  setConnection('token', 'API token needed');
  $('token-section').hidden = false;
  $('token-input').focus();
}

async function connect() {
  clearTimeout(reconnectTimer);
  if (source !== undefined) source.close();
  setConnection('connecting', 'connecting…');
  let url = '/v1/status/events';
  if (token() !== undefined) {
    const response = await api('POST', '/v1/stream-tokens');
    if (response.status === 401) return;
    if (response.ok) url += `?access_token=${encodeURIComponent((await response.json()).token)}`;
  }
  const events = new EventSource(url);
  source = events;
  events.addEventListener('open', () => setConnection('live', 'live'));
  events.addEventListener('snapshot', (e) => {
    subscriptions.clear();
    for (const s of JSON.parse(e.data).subscriptions) {
      subscriptions.set(s.id, s);
      if (s.lastStatus !== undefined) remember(s.lastStatus);
    }
    scheduleRender();
  });
  events.addEventListener('subscription', (e) => {
    const s = JSON.parse(e.data);
    subscriptions.set(s.id, s);
    scheduleRender();
  });
  events.addEventListener('removed', (e) => {
    subscriptions.delete(JSON.parse(e.data).id);
    scheduleRender();
  });
  events.addEventListener('status', (e) => {
    const status = JSON.parse(e.data);
    const s = subscriptions.get(status.subscriptionId);
    if (s !== undefined) subscriptions.set(s.id, { ...s, state: status.state, lastStatus: status });
    remember(status);
    scheduleRender();
  });
  events.addEventListener('error', () => {
    if (events !== source) return;
    if (events.readyState === EventSource.CLOSED) {
      // Refused (401: no or an expired stream token, or a daemon restarted): find out why, then again.
      setConnection('reconnecting', 'reconnecting…');
      reconnectTimer = setTimeout(probe, 2000);
    } else {
      setConnection('reconnecting', 'reconnecting…');
    }
  });
}

async function probe() {
  try {
    const response = await api('GET', '/v1/subscriptions?record=-');
    if (response.status !== 401) await connect();
  } catch {
    reconnectTimer = setTimeout(probe, 2000);
  }
}

/** Keeps a status message in the "Last notifications" list (once, newest first). */
function remember(status) {
  if (notifications.some((n) => n.subscriptionId === status.subscriptionId && n.sequence === status.sequence)) return;
  notifications.push(status);
  notifications.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : b.sequence - a.sequence));
  notifications.length = Math.min(notifications.length, MAX_NOTIFICATIONS);
}

/** What a person wants to know of a status: open or closed, and the note. */
function presenceOf(status) {
  if (status === undefined) return { label: 'unknown', presence: 'unknown' };
  if (status.state === 'rejected' || status.error !== undefined) return { label: status.state === 'rejected' ? 'rejected' : 'failed', presence: 'failed', note: status.error?.message };
  const doc = status.presence;
  const tuple = doc?.tuples?.find((t) => t.basic !== undefined) ?? doc?.tuples?.[0];
  const note = tuple?.notes?.[0]?.text ?? doc?.notes?.[0]?.text ?? doc?.persons?.find((p) => p.notes?.length > 0)?.notes?.[0]?.text;
  if (tuple?.basic === 'open' || tuple?.basic === 'closed') return { label: tuple.basic, presence: tuple.basic, note };
  if (status.state === 'pending') return { label: 'pending', presence: 'pending', note };
  if (status.state === 'terminated') return { label: 'ended', presence: 'unknown', note: status.reason };
  return { label: 'unknown', presence: 'unknown', note };
}

function scheduleRender() {
  if (renderScheduled) return;
  renderScheduled = true;
  requestAnimationFrame(() => {
    renderScheduled = false;
    render();
  });
}

function element(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (name === 'className') e.className = value;
    else if (name.startsWith('data-')) e.setAttribute(name, value);
    else e[name] = value;
  }
  for (const child of children) if (child !== undefined) e.append(child);
  return e;
}

function time(iso) {
  return element('time', { dateTime: iso, textContent: new Date(iso).toLocaleTimeString() });
}

function render() {
  const all = [...subscriptions.values()].sort((a, b) => a.record.localeCompare(b.record) || a.subscriber.localeCompare(b.subscriber));

  // Watched records: the newest status among each record's subscriptions.
  const byRecord = new Map();
  for (const s of all) {
    const entry = byRecord.get(s.record) ?? { watchers: 0, status: undefined };
    entry.watchers++;
    if (s.lastStatus !== undefined && (entry.status === undefined || s.lastStatus.timestamp >= entry.status.timestamp)) entry.status = s.lastStatus;
    byRecord.set(s.record, entry);
  }
  const records = [...byRecord.entries()].map(([record, { watchers, status }]) => {
    const p = presenceOf(status);
    return element(
      'li',
      { 'data-record': record },
      element('span', { className: 'uri', textContent: record }),
      element('span', {}, element('span', { className: 'badge', 'data-presence': p.presence, textContent: p.label })),
      p.note === undefined ? undefined : element('span', { className: 'note', textContent: p.note }),
      element('span', { className: 'meta', textContent: `${watchers} watcher${watchers === 1 ? '' : 's'}${status === undefined ? '' : ` · ${new Date(status.timestamp).toLocaleTimeString()}`}` }),
    );
  });
  $('records').replaceChildren(...records);
  $('records-empty').hidden = records.length > 0;

  // Subscriptions by state.
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const s of all) counts[s.state] = (counts[s.state] ?? 0) + 1;
  $('state-counts').replaceChildren(
    ...Object.entries(counts).map(([state, n]) => element('span', { 'data-state': state }, state, element('b', { textContent: String(n) }))),
  );
  $('subscriptions')
    .querySelector('tbody')
    .replaceChildren(
      ...all.map((s) => {
        const remove = element('button', { className: 'remove', type: 'button', title: 'unsubscribe', textContent: '✕' });
        remove.addEventListener('click', () => void api('DELETE', `/v1/subscriptions/${encodeURIComponent(s.id)}`));
        return element(
          'tr',
          { 'data-id': s.id },
          element('td', { textContent: s.record }),
          element('td', { textContent: s.subscriber }),
          element('td', { className: `state-${s.state}`, textContent: s.state }),
          element('td', { textContent: s.dialog?.state ?? '' }),
          element('td', { textContent: s.notifier ?? '' }),
          element('td', {}, remove),
        );
      }),
    );

  // Last notifications.
  $('notifications').replaceChildren(
    ...notifications.map((n) => {
      const p = presenceOf(n);
      return element(
        'li',
        {},
        time(n.timestamp),
        `${n.record} `,
        element('span', { className: 'badge', 'data-presence': p.presence, textContent: p.label }),
        ` ${n.state}${p.note === undefined ? '' : ` — ${p.note}`}`,
      );
    }),
  );
  $('notifications-empty').hidden = notifications.length > 0;
}

function setUp() {
  takeTokenFromLocation();
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
    $('token-input').value = '';
    $('token-section').hidden = true;
    void connect();
  });
  $('add-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = $('add-error');
    error.hidden = true;
    const record = $('add-record').value.trim();
    const subscriber = $('add-subscriber').value.trim();
    const response = await api('POST', '/v1/subscriptions', { record, subscriber, queue: QUEUE });
    if (response.ok) {
      const s = await response.json();
      subscriptions.set(s.id, { ...s, ...subscriptions.get(s.id) });
      $('add-record').value = '';
      scheduleRender();
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.error?.message ?? `${response.status} ${response.statusText}`;
    error.hidden = false;
  });
  scheduleRender();
  void connect();
}

setUp();
