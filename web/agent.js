// The Live Takeover console: sign-in (local token, Cognito via agent-auth.js, or a pasted
// token), the conversation list with filters, search and sort, the conversation
// pane (inline images, downloads), take over / release, and sending text and files.
// Changes arrive over a WebSocket (SPEC 10), with polling as the fallback; the list also
// refreshes every 2 minutes with the socket open, every 45 s without (which keeps the agent
// "online", SPEC 6).
'use strict';

(() => {
  const { config, el, api, sendKeyed, uploadToS3, uploadRow, renderMessage, timeAgo, liveChannel, insertById } = window.Satchel;
  const $ = (id) => document.getElementById(id);
  /** Idempotency keys kept for agent messages not known to have arrived (see sendAgent): sessionId + JSON body -> key. */
  const unsentKeys = new Map();
  /** A typed message is being sent (retries included): the composer's Send waits for it. */
  let composerBusy = false;
  /** The agent's messages go out one at a time, in order (see sendAgent). */
  let sending = Promise.resolve();
  /** Messages queued or being sent. */
  let pendingSends = 0;
  /** Release is waiting for them. */
  let releasing = false;
  /**
   * Without the socket the list refreshes this often: any agent API call keeps the agent
   * "online" for 60 s (SPEC 6).
   */
  const PRESENCE_MS = 45000;
  /**
   * With the socket open the agent is online through it, and every console is pushed what its
   * list must show live (new conversations, waiting, takeovers, releases); the list is re-read
   * this often only for what the bot says in conversations nobody has open and what time alone
   * changes (stalled, abandoned), and the open conversation is read again, which keeps its
   * messages coming (the server notes it as open for 10 minutes).
   */
  const LIVE_REFRESH_MS = 120000;
  /** Pages a filtered or searched list follows at most per refresh (each page is a few storage reads). */
  const MAX_FILTER_PAGES = 10;
  const TOKEN_KEY = 'satchel.agent.token';
  const STATUS_LABELS = {
    waiting_for_agent: 'Waiting for agent',
    action: 'Needs action',
    live: 'Live',
    stalled: 'Stalled',
    abandoned: 'Abandoned',
    taken_over: 'Taken over',
  };

  let token = sessionStorage.getItem(TOKEN_KEY);
  let me = null; // { agentId, name }
  let conversations = [];
  let open = null; // { sessionId, cursor, conversation }
  const knownBots = new Map();
  let listTimer = null;
  let channel = null; // the socket, or polling while it cannot be held

  // ---- sign-in ----------------------------------------------------------------------

  /** Reads who the token says we are; the server verifies it on every call. */
  function identityOf(jwt) {
    try {
      const payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      if (payload.exp && payload.exp * 1000 < Date.now()) return null;
      return { agentId: payload.sub, name: payload.name || payload['cognito:username'] || payload.email || payload.username || payload.sub };
    } catch {
      return null;
    }
  }

  function signInError(text) {
    $('sign-in-error').hidden = !text;
    $('sign-in-error').textContent = text || '';
  }

  function showSignIn(message) {
    stopPolling();
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    auth.forget();
    $('two-factor').hidden = true;
    $('console').hidden = true;
    $('who').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in').hidden = false;
    $('local-form').hidden = config.signIn !== 'local';
    $('cognito-form').hidden = config.signIn !== 'cognito';
    $('token-details').open = config.signIn === 'token';
    signInError(message);
    const first = config.signIn === 'local' ? $('local-name') : config.signIn === 'cognito' ? $('cognito-user') : $('token-input');
    first.focus();
  }

  function signedIn(jwt) {
    const who = identityOf(jwt);
    if (!who) return signInError('That token is not valid or has expired.');
    token = jwt;
    me = who;
    sessionStorage.setItem(TOKEN_KEY, jwt);
    $('sign-in').hidden = true;
    $('console').hidden = false;
    $('who').hidden = false;
    $('who').textContent = `Signed in as ${me.name}`;
    $('sign-out').hidden = false;
    $('two-factor').hidden = !auth.active();
    refreshList();
    startLive();
  }

  /**
   * The console's socket (SPEC 10): new conversations, status changes, takeovers and releases
   * of every conversation, and every message of the one open here or taken over, arrive as frames.
   */
  function startLive() {
    if (channel) channel.stop();
    const url = config.socketUrl ? () => `${config.socketUrl}?${new URLSearchParams({ agentToken: token })}` : '';
    channel = liveChannel({
      url,
      onFrame,
      poll: async () => {
        await refreshList();
        await refreshPane();
      },
    });
  }

  /** Does a pushed conversation belong in the list as filtered now? Search needs the server. */
  const matchesFilters = (c) => (!$('status-filter').value || c.status === $('status-filter').value) && (!$('bot-filter').value || c.botId === $('bot-filter').value);

  /** A `conversation` frame: the list entry is replaced (or added, or dropped by the filters), the open pane gets the new messages. */
  function onFrame(frame) {
    if (frame.type !== 'conversation' || !token) return;
    const c = frame.conversation;
    noteWaiting([c]);
    if (open && open.sessionId === c.sessionId && viewing()) markSeen(c);
    if ($('search').value.trim()) {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(refreshList, 250);
    } else {
      conversations = conversations.filter((x) => x.sessionId !== c.sessionId);
      if (matchesFilters(c)) conversations.push(c);
      conversations.sort((a, b) => (a.lastActivityAt < b.lastActivityAt ? 1 : a.lastActivityAt > b.lastActivityAt ? -1 : 0));
      renderList();
    }
    if (open && open.sessionId === c.sessionId && open.conversation) {
      const first = frame.messages[0];
      const target = Number(frame.messages.at(-1)?.id ?? 0);
      if (first && Number(first.id) > Number(open.cursor || 0) + 1) return void catchUpPane(c.sessionId, target, 0);
      open.conversation = c;
      renderPaneHeader();
      showMessages(open, frame.messages);
      const last = frame.messages.at(-1);
      if (last && Number(last.id) > Number(open.cursor || 0)) open.cursor = last.id;
    }
  }

  /** A gap before a frame (a missed push, or a message still being written): re-read the pane until it reaches the frame, every 2 s for up to a minute. */
  async function catchUpPane(sessionId, id, tries) {
    await refreshPane();
    if (open && open.sessionId === sessionId && Number(open.cursor || 0) < id && tries < 30) {
      setTimeout(() => void catchUpPane(sessionId, id, tries + 1), 2000);
    }
  }

  const slug = (name) => name.toLowerCase().replace(/[^a-z0-9._@+-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'agent';

  $('local-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('local-name').value.trim();
    if (!name) return;
    try {
      const res = await api('POST', '/local/agent-token', { body: { agentId: slug(name), name } });
      signedIn(res.token);
    } catch (err) {
      signInError(err.message);
    }
  });

  // Cognito sign-in, token refresh and two-factor set-up live in agent-auth.js.
  const auth = window.SatchelAgentAuth;
  auth.attach({
    signedIn,
    signedOut: showSignIn,
    tokenRefreshed: (jwt) => {
      token = jwt;
      sessionStorage.setItem(TOKEN_KEY, jwt);
    },
  });

  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signedIn($('token-input').value.trim());
  });

  $('sign-out').addEventListener('click', () => {
    auth.signOut();
    showSignIn('');
  });

  /** API calls as the agent; a refused token is refreshed once, and only then sends the agent back to sign-in. */
  async function agentApi(method, path, body, retried = false, headers = undefined) {
    try {
      return await api(method, path, { token, body, headers });
    } catch (err) {
      if (err.status === 401 && token) {
        if (!retried && (await auth.refresh())) return agentApi(method, path, body, true, headers);
        if (token) showSignIn('Your sign-in has expired. Please sign in again.');
      }
      throw err;
    }
  }

  // ---- list -------------------------------------------------------------------------

  function stopPolling() {
    clearTimeout(listTimer);
    if (channel) channel.stop();
    channel = null;
  }

  function listQuery() {
    const q = new URLSearchParams();
    if ($('status-filter').value) q.set('status', $('status-filter').value);
    if ($('bot-filter').value) q.set('botId', $('bot-filter').value);
    if ($('search').value.trim()) q.set('q', $('search').value.trim());
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  async function refreshList() {
    clearTimeout(listTimer);
    if (!token) return;
    try {
      // A filter or a search looks at each page of the newest conversations in turn: follow
      // `next` (a few pages) so a match further down the list is not missed.
      const query = listQuery();
      let res = await agentApi('GET', `/agent/conversations${query}`);
      const found = [...res.conversations];
      for (let page = 1; query && res.next && found.length < 100 && page < MAX_FILTER_PAGES; page++) {
        res = await agentApi('GET', `/agent/conversations${query}&cursor=${encodeURIComponent(res.next)}`);
        found.push(...res.conversations);
      }
      conversations = found;
      // The whole list, unfiltered: a waiting conversation missing from it has expired.
      if (!query && !res.next) for (const id of [...waiting.keys()]) if (!found.some((c) => c.sessionId === id)) waiting.delete(id);
      noteWaiting(found);
      renderList();
    } catch (err) {
      if (!token) return;
      $('list-status').textContent = err.message;
    }
    // Polling while the socket is down is the live channel's; this one keeps the presence,
    // or with the socket open the list and the open conversation fresh.
    const live = Boolean(channel && channel.isOpen());
    listTimer = setTimeout(() => {
      refreshList();
      if (open && channel && channel.isOpen()) refreshPane();
    }, live ? LIVE_REFRESH_MS : PRESENCE_MS);
  }

  function rememberBots() {
    const select = $('bot-filter');
    for (const c of conversations) {
      if (knownBots.has(c.botId)) continue;
      knownBots.set(c.botId, c.botName || c.botId);
      select.append(el('option', { value: c.botId }, c.botName || c.botId));
    }
  }

  const userLabel = (c) => c.user.name || c.user.id;
  const snippet = (c) => {
    const m = c.lastMessage;
    if (!m) return 'No messages yet';
    const who = m.from === 'user' ? '' : m.from === 'agent' ? 'Agent: ' : 'Bot: ';
    return who + (m.text || (m.fileNames ? `File: ${m.fileNames.join(', ')}` : ''));
  };

  function renderList() {
    rememberBots();
    const list = $('conversations');
    const sorted = $('sort').value === 'oldest' ? [...conversations].reverse() : conversations;
    const items = sorted.map((c) =>
      el(
        'li',
        {},
        el(
          'button',
          { type: 'button', class: 'conv', 'aria-current': open && open.sessionId === c.sessionId ? 'true' : 'false', 'data-session': c.sessionId, onclick: () => openConversation(c.sessionId) },
          el('span', { class: 'name' }, userLabel(c)),
          unreadBadge(c),
          el('span', { class: `badge ${c.status}` }, STATUS_LABELS[c.status] || c.status),
          el('span', { class: 'snippet' }, snippet(c)),
          searchHint(c),
          c.waitingForAgentSince && waitingSince(c.waitingForAgentSince),
          el('span', { class: 'sub' }, `${c.botName || c.botId} · ${c.channel} · ${timeAgo(c.lastActivityAt)}${c.operator ? ` · with ${c.operator.name}` : ''}`),
        ),
      ),
    );
    const hadFocus = document.activeElement && document.activeElement.closest && document.activeElement.closest('#conversations .conv');
    const focusedId = hadFocus && hadFocus.getAttribute('data-session');
    list.replaceChildren(...(items.length ? items : [el('li', { class: 'empty' }, 'No conversations match.')]));
    // A re-render (a push, a refresh) keeps the keyboard where it was.
    if (focusedId) {
      const again = list.querySelector(`[data-session="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
    updateTitle();
    const active = ['status-filter', 'bot-filter'].filter((id) => $(id).value).length + ($('sort').value === 'oldest' ? 1 : 0);
    $('more-filters').querySelector('summary').textContent = active ? `Filters and sort (${active} on)` : 'Filters and sort';
    $('list-status').textContent = `${conversations.length} conversation${conversations.length === 1 ? '' : 's'}`;
  }

  let searchTimer = null;
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refreshList, 250);
  });
  $('status-filter').addEventListener('change', refreshList);
  $('bot-filter').addEventListener('change', refreshList);
  $('sort').addEventListener('change', renderList);
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    refreshList();
  });

  // ---- conversation pane ------------------------------------------------------------

  const holding = () => Boolean(open && open.conversation && open.conversation.operator && me && open.conversation.operator.agentId === me.agentId);

  function paneBanner(text) {
    $('pane-banner').hidden = !text;
    $('pane-banner').textContent = text || '';
  }

  function renderPaneHeader() {
    const c = open.conversation;
    $('pane-title').textContent = userLabel(c);
    $('pane-sub').replaceChildren(
      `${c.botName || c.botId} · ${c.channel} · last active ${timeAgo(c.lastActivityAt)}${c.operator ? ` · taken over by ${c.operator.name}` : ''}`,
      c.waitingForAgentSince ? waitingSince(c.waitingForAgentSince) : '',
    );
    $('pane-status').className = `badge ${c.status}`;
    $('pane-status').textContent = STATUS_LABELS[c.status] || c.status;
    const mine = holding();
    $('take-over').hidden = mine;
    $('take-over').disabled = Boolean(c.operator);
    $('take-over').title = c.operator ? `${c.operator.name} has this conversation` : '';
    $('release').hidden = !mine;
    // While Release waits for messages still being sent, nothing new can be written.
    for (const id of ['agent-text', 'agent-attach']) $(id).disabled = !mine || releasing;
    // One typed message at a time: Send stays off while the last one is still being sent.
    $('agent-send').disabled = !mine || composerBusy || releasing;
    $('agent-text').placeholder = mine ? 'Write to the user' : c.operator ? `${c.operator.name} is talking to this user` : 'Take over to reply';
  }

  async function openConversation(sessionId) {
    open = { sessionId, cursor: '', conversation: null };
    $('transcript').replaceChildren();
    $('agent-uploads').replaceChildren();
    $('new-below').hidden = true;
    paneBanner('');
    $('pane-empty').hidden = true;
    $('pane-body').hidden = false;
    $('console').classList.add('show-detail');
    const listed = conversations.find((c) => c.sessionId === sessionId);
    if (listed) markSeen(listed);
    renderList();
    await refreshPane();
    // On a phone the list is gone from the screen: take the reader to what replaced it.
    if (narrow.matches && open && open.sessionId === sessionId) $('pane-title').focus();
  }

  $('back').addEventListener('click', () => {
    $('console').classList.remove('show-detail');
    const row = open && $('conversations').querySelector(`[data-session="${CSS.escape(open.sessionId)}"]`);
    if (row) row.focus();
    else $('search').focus();
  });

  /** Adds messages not shown yet (pushes and polls overlap: an id already there is dropped), in id order. */
  function showMessages(current, messages) {
    const names = { user: userLabel(current.conversation), bot: current.conversation.botName || 'Bot' };
    const scroller = $('pane-transcript');
    const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const follow = !current.scrolled || atBottom();
    let added = 0;
    for (const m of messages) {
      const shown = document.querySelector(`#transcript [data-id="${m.id}"]`);
      // A file's malware verdict comes as its message again (SPEC 13): show the new state in place.
      if (shown && m.attachments && shown.querySelector('[data-scan="pending"]')) shown.replaceWith(renderMessage(m, { names, inlineImages: true }));
      if (shown) continue;
      added++;
      const node = renderMessage(m, { names, inlineImages: true });
      // Pictures change the height once they load; keep the newest message in view.
      for (const img of node.querySelectorAll('img')) img.addEventListener('load', () => follow && (scroller.scrollTop = scroller.scrollHeight));
      insertById($('transcript'), node, m.id);
      // An agent's message reached a conversation: what was kept for a manual resend arrived, or is older now.
      if (m.from === 'agent') unsentKeys.clear();
    }
    if (messages.length && follow) scroller.scrollTop = scroller.scrollHeight;
    else if (added && current.scrolled) newMessagesBelow();
    current.scrolled = true;
  }

  async function refreshPane() {
    if (!open || !token) return;
    const current = open;
    try {
      const res = await agentApi('GET', `/agent/conversations/${encodeURIComponent(current.sessionId)}${current.cursor ? `?after=${current.cursor}` : ''}`);
      if (open !== current) return;
      current.conversation = res.conversation;
      if (viewing()) markSeen(res.conversation);
      if (Number(res.cursor) > Number(current.cursor || 0)) current.cursor = res.cursor;
      renderPaneHeader();
      showMessages(current, res.messages);
    } catch (err) {
      if (open !== current) return;
      if (err.status === 410 || err.status === 404) {
        paneBanner('This conversation has expired; its messages and files are gone.');
        for (const id of ['take-over', 'release', 'agent-text', 'agent-send', 'agent-attach']) $(id).disabled = true;
        return;
      }
      paneBanner(err.message);
    }
  }

  $('take-over').addEventListener('click', async () => {
    $('take-over').disabled = true;
    try {
      await agentApi('POST', `/agent/conversations/${encodeURIComponent(open.sessionId)}/takeover`);
      paneBanner('');
    } catch (err) {
      paneBanner(err.code === 'already_taken_over' ? `${err.message}.` : err.message);
    }
    await refreshPane();
    refreshList();
    if (holding()) $('agent-text').focus();
  });

  $('release').addEventListener('click', async () => {
    $('release').disabled = true;
    const conversation = open;
    // Messages still being sent (retries included) go out first: after the release they would be refused.
    if (pendingSends) {
      releasing = true;
      paneBanner('Sending your last message first…');
      for (const id of ['agent-text', 'agent-send', 'agent-attach']) $(id).disabled = true;
    }
    await sending;
    releasing = false;
    try {
      await agentApi('POST', `/agent/conversations/${encodeURIComponent(conversation.sessionId)}/release`);
      paneBanner('');
    } catch (err) {
      paneBanner(err.message);
    }
    $('release').disabled = false;
    await refreshPane();
    refreshList();
  });

  // Each message carries an Idempotency-Key (common.js), the same for every try of it: a
  // connection failure, 429 or 5xx is tried again by itself after 1, 2 and 4 s; after that the
  // words stay in the box and sending them again reuses the key, until a message of this
  // agent's shows in the conversation. The server remembers the newest key only, so messages
  // go one at a time (files included): each is settled, retries and all, before the next.
  function sendAgent(body, conversation = open) {
    pendingSends++;
    const turn = sending.then(() => sendOne(conversation, body)).finally(() => pendingSends--);
    sending = turn.catch(() => undefined);
    return turn;
  }

  async function sendOne(conversation, body) {
    const path = `/agent/conversations/${encodeURIComponent(conversation.sessionId)}/messages`;
    const out = await sendKeyed(unsentKeys, `${conversation.sessionId}\n${JSON.stringify(body)}`, (key) => agentApi('POST', path, body, false, { 'idempotency-key': key }), {
      // Signing out ends the tries.
      goOn: () => Boolean(token),
      onWait: (err) => open === conversation && paneBanner(`${err.message} Trying again…`),
    });
    if (!out.ok) {
      if (open === conversation) paneBanner(out.err.message);
      return null;
    }
    if (open === conversation) {
      if (out.res && out.res.delivered === false) paneBanner('Saved in the conversation, but it could not be pushed to the user\'s channel. Try again later.');
      else if (out.retried) paneBanner(''); // the "Trying again" of this message
      await refreshPane();
    }
    return out.res;
  }

  $('agent-composer').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('agent-text').value;
    // Enter submits even while Send is disabled: one typed message at a time.
    if (!text.trim() || !holding() || composerBusy || releasing) return;
    composerBusy = true;
    $('agent-send').disabled = true;
    let sent;
    try {
      sent = await sendAgent({ text });
    } finally {
      composerBusy = false;
    }
    // Retries take seconds: only the words that were sent are cleared, whatever is open now.
    if (sent && $('agent-text').value === text) $('agent-text').value = '';
    $('agent-send').disabled = !holding() || releasing;
    if (holding()) $('agent-text').focus();
  });
  $('agent-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('agent-composer').requestSubmit();
    }
  });

  async function sendAgentFile(file) {
    const row = uploadRow(file);
    $('agent-uploads').append(row.row);
    const conversation = open;
    const sessionId = conversation.sessionId;
    let ticket;
    try {
      ticket = await agentApi('POST', `/agent/conversations/${encodeURIComponent(sessionId)}/uploads`, {
        fileName: file.name,
        size: file.size,
        contentType: file.type || 'application/octet-stream',
      });
    } catch (err) {
      return row.failed(`Not sent: ${err.message}`);
    }
    try {
      await uploadToS3(ticket, file, (f) => row.progress(f));
    } catch (err) {
      return row.failed(`Not sent: ${err.message}`);
    }
    // To the conversation the file was chosen for, even if another is open by now.
    const res = await sendAgent({ uploadIds: [ticket.uploadId] }, conversation);
    if (!res) row.failed('Not sent. Please try again.');
    else if (res.warnings && res.warnings.length) row.failed('Not sent: the file did not pass the checks (its content must match its type).');
    else row.done('Sent');
  }

  $('agent-attach').addEventListener('click', () => $('agent-file').click());
  $('agent-file').addEventListener('change', () => {
    for (const f of $('agent-file').files) void sendAgentFile(f);
    $('agent-file').value = '';
  });
  // Files dropped on the open conversation go to the user (holder only).
  $('pane-body').addEventListener('dragover', (e) => {
    if (holding() && e.dataTransfer && [...e.dataTransfer.types].includes('Files')) e.preventDefault();
  });
  $('pane-body').addEventListener('drop', (e) => {
    if (!holding()) return;
    e.preventDefault();
    for (const f of e.dataTransfer.files) void sendAgentFile(f);
  });

  // ---- unread counts, waiting alerts, new-messages marker, narrow screens -----------------
  // Unread counts are kept per agent in this browser (localStorage): the last `lastSeq` of each
  // conversation the agent saw. The title counts conversations waiting for an agent, with an
  // optional tone (WebAudio) when one starts waiting. On narrow screens (≤ 600 px) the list and
  // the open conversation take turns on the screen, with a Back button.

  const SEEN_PREFIX = 'satchel.agent.seen.';
  const SOUND_KEY = 'satchel.agent.sound';
  /** Conversations whose last-seen position this browser keeps per agent (the oldest go first). */
  const SEEN_MAX = 500;
  const BASE_TITLE = document.title;
  /** Phones: list and conversation take turns (the CSS breakpoint is the same). */
  const narrow = window.matchMedia('(max-width: 600px)');
  /** Conversations known to be waiting for an agent: sessionId → since (from lists and pushes). */
  const waiting = new Map();
  /** Set once the first list has been read: conversations already waiting then do not beep. */
  let waitingBaseline = false;
  let seen = null; // { agentId, map: { sessionId: [lastSeq, at] } }

  /** Is the open conversation in front of the agent (the tab shown, and on a phone the detail view)? */
  const viewing = () => Boolean(open) && !document.hidden && (!narrow.matches || $('console').classList.contains('show-detail'));

  /** This agent's last-seen positions, from localStorage (per agent: two agents may share a browser). */
  function seenMap() {
    if (!me) return {};
    if (!seen || seen.agentId !== me.agentId) {
      let map = {};
      try {
        map = JSON.parse(localStorage.getItem(SEEN_PREFIX + me.agentId) || '{}') || {};
      } catch {
        map = {};
      }
      seen = { agentId: me.agentId, map };
    }
    return seen.map;
  }

  const unreadOf = (c) => Math.max(0, (c.lastSeq || 0) - ((seenMap()[c.sessionId] || [0])[0] || 0));

  /** The agent has seen `c` up to its newest message. */
  function markSeen(c) {
    const map = seenMap();
    const before = (map[c.sessionId] || [0])[0];
    if (!me || !(c.lastSeq > before)) return;
    map[c.sessionId] = [c.lastSeq, Date.now()];
    const ids = Object.keys(map);
    if (ids.length > SEEN_MAX) {
      ids.sort((a, b) => map[a][1] - map[b][1]);
      for (const id of ids.slice(0, ids.length - SEEN_MAX)) delete map[id];
    }
    try {
      localStorage.setItem(SEEN_PREFIX + me.agentId, JSON.stringify(map));
    } catch {
      // Storage full or refused: counts still work for this page's life.
    }
    const listed = conversations.find((x) => x.sessionId === c.sessionId);
    if (listed && listed !== c) listed.lastSeq = Math.max(listed.lastSeq || 0, c.lastSeq);
    renderList();
  }

  function unreadBadge(c) {
    const n = unreadOf(c);
    if (!n) return null;
    const text = n > 99 ? '99+' : String(n);
    return el('span', { class: 'unread' }, text, el('span', { class: 'visually-hidden' }, ` unread message${n === 1 ? '' : 's'}`));
  }

  /** Why a search result is listed when neither its name nor its last message shows the words. */
  function searchHint(c) {
    const q = $('search').value.trim().toLowerCase();
    if (!q) return null;
    const shown = [userLabel(c), c.user.id, c.sessionId, snippet(c)].join(' ').toLowerCase();
    return shown.includes(q) ? null : el('span', { class: 'search-hint' }, 'Found in an earlier message or file name');
  }

  /** "Waiting 4 min", with the clock time it started. */
  function waitingSince(iso) {
    const mins = Math.floor(Math.max(0, Date.now() - new Date(iso).getTime()) / 60000);
    const span = mins < 1 ? 'under a minute' : mins < 60 ? `${mins} min` : `${Math.floor(mins / 60)} h ${mins % 60} min`;
    return el('span', { class: 'waiting-since' }, 'Waiting ', el('time', { datetime: iso, title: `since ${window.Satchel.formatTime(iso)}` }, span));
  }

  /** Keeps the set of waiting conversations; one that starts waiting after the first list alerts. */
  function noteWaiting(list) {
    const started = [];
    for (const c of list) {
      if (c.status === 'waiting_for_agent') {
        if (!waiting.has(c.sessionId) && waitingBaseline) started.push(c);
        waiting.set(c.sessionId, c.waitingForAgentSince);
      } else waiting.delete(c.sessionId);
    }
    waitingBaseline = true;
    updateTitle();
    if (started.length) {
      $('waiting-announce').textContent = `${started.map(userLabel).join(', ')} ${started.length === 1 ? 'is' : 'are'} waiting for an agent.`;
      beep();
    }
  }

  function updateTitle() {
    document.title = waiting.size ? `(${waiting.size}) ${BASE_TITLE}` : BASE_TITLE;
  }

  // The optional sound: off unless the agent turns it on (browsers let a page play sound only
  // after a gesture, which the toggle is). A short tone from WebAudio: no audio file to serve.
  let audio = null;
  function beep() {
    if (!$('sound-toggle').checked) return;
    try {
      audio = audio || new AudioContext();
      if (audio.state === 'suspended') void audio.resume();
      const t = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.15);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.4);
    } catch {
      // No audio output: the title and the announcement still say it.
    }
  }
  $('sound-toggle').checked = localStorage.getItem(SOUND_KEY) === 'on';
  $('sound-toggle').addEventListener('change', () => {
    localStorage.setItem(SOUND_KEY, $('sound-toggle').checked ? 'on' : 'off');
    if ($('sound-toggle').checked) beep(); // a sample, and it unlocks audio for later
  });

  // "New messages below": the agent scrolled up to read and something arrived.
  const transcriptAtBottom = () => {
    const s = $('pane-transcript');
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  };
  function newMessagesBelow() {
    if (!$('new-below').hidden) return;
    $('new-below').hidden = false;
    $('pane-announce').textContent = 'New messages below.';
  }
  $('pane-transcript').addEventListener('scroll', () => {
    if (!$('new-below').hidden && transcriptAtBottom()) {
      $('new-below').hidden = true;
      $('pane-announce').textContent = '';
    }
  });
  $('new-below').addEventListener('click', () => {
    const s = $('pane-transcript');
    s.scrollTop = s.scrollHeight;
    $('new-below').hidden = true;
    $('pane-announce').textContent = '';
    s.focus();
  });

  // Back from elsewhere: what arrived while the tab was hidden is now seen.
  document.addEventListener('visibilitychange', () => {
    if (viewing() && open.conversation) markSeen(open.conversation);
  });

  // Filters fold away on phones; on wider screens they start open.
  const fitFilters = () => {
    $('more-filters').open = !narrow.matches;
  };
  fitFilters();
  narrow.addEventListener('change', () => {
    fitFilters();
    if (viewing() && open.conversation) markSeen(open.conversation);
  });

  // Signed out: nothing of this agent's stays in the title or on screen.
  function forgetAgentView() {
    waiting.clear();
    waitingBaseline = false;
    seen = null;
    $('console').classList.remove('show-detail');
    updateTitle();
  }
  $('sign-out').addEventListener('click', forgetAgentView);

  // Relative times ("3 min ago", "waiting 4 min") move on by themselves.
  setInterval(() => {
    if (!token || $('console').hidden) {
      if (waiting.size) forgetAgentView();
      return;
    }
    renderList();
    if (open && open.conversation) renderPaneHeader();
  }, 30000);

  // ---- start ------------------------------------------------------------------------

  // A reload keeps the sign-in: the stored token, or a fresh one from the refresh token.
  if (token && identityOf(token)) signedIn(token);
  else
    auth.refresh().then((jwt) => {
      if (jwt) signedIn(jwt);
      else if ($('sign-in').hidden) showSignIn('');
    });
})();
