// Shared by the chat page and the agent console: page config, DOM building, the JSON API,
// uploads straight to S3 with progress, and the transcript renderer. Plain browser JS, no build.
'use strict';

window.Satchel = (() => {
  const config = JSON.parse(document.getElementById('page-config').textContent);

  /** el('p', { class: 'x', onclick: fn }, 'text', child): attributes, listeners, children. Text is never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (k === 'class') node.className = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** API Gateway answers within 30 s (its integration limit), so longer means the answer is lost. Tests may shorten it. */
  const limits = { apiTimeoutMs: 35_000 };

  /** Calls the JSON API; non-2xx becomes an ApiError carrying the contract's code and message. */
  async function api(method, path, { token, body, headers: extra } = {}) {
    const headers = { accept: 'application/json', ...extra };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    // A request still unanswered after limits.apiTimeoutMs is given up (its outcome unknown, as
    // for a dropped connection): a message is then tried again with its key instead of waiting
    // forever and holding back the messages queued behind it.
    const signal = AbortSignal.timeout ? AbortSignal.timeout(limits.apiTimeoutMs) : undefined;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', signal });
    } catch {
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection; we will keep trying.');
    }
    let text;
    try {
      text = await res.text();
    } catch {
      // The connection dropped during the answer: the request's outcome is unknown, as for a network error.
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection; we will keep trying.');
    }
    let data;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!res.ok) {
      const err = data && data.error;
      const fallback = res.status === 401 ? 'Please sign in again.' : `The server answered ${res.status}.`;
      throw new ApiError(res.status, (err && err.code) || `http_${res.status}`, (err && err.message) || fallback);
    }
    return data;
  }

  // Each message a page sends carries an Idempotency-Key, the same for every try of that
  // message: when a request's answer is lost (the connection drops after the server took it),
  // trying again cannot post the message twice. A connection failure, 429 or 5xx is tried
  // again by itself after these delays.
  const RESEND_DELAYS_MS = [1000, 2000, 4000];
  const isTransient = (err) => err.status === 0 || err.status === 429 || err.status >= 500;
  function newIdempotencyKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }

  /**
   * Sends one message with its Idempotency-Key, both pages' way: `keys` keeps the key under
   * `id` (the message) until it is known to have arrived or been refused for good, so sending
   * the same words again reuses it. `post(key)` makes the request. A transient failure is tried
   * again after each of RESEND_DELAYS_MS while `goOn()` holds (asked before and after each
   * wait); `onWait(err)` runs before each wait. Resolves `{ ok: true, res, retried }` or
   * `{ ok: false, err, stopped }` (stopped: `goOn()` ended the tries during a wait).
   */
  async function sendKeyed(keys, id, post, { goOn, onWait }) {
    const key = keys.get(id) || newIdempotencyKey();
    keys.set(id, key);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await post(key);
        keys.delete(id);
        return { ok: true, res, retried: attempt > 0 };
      } catch (err) {
        const transient = isTransient(err);
        if (!transient) keys.delete(id);
        if (!transient || attempt >= RESEND_DELAYS_MS.length || !goOn()) return { ok: false, err, stopped: false };
        onWait(err);
        await new Promise((resolve) => setTimeout(resolve, RESEND_DELAYS_MS[attempt]));
        if (!goOn()) return { ok: false, err, stopped: true };
      }
    }
  }

  /**
   * POSTs the file to the presigned S3 form. XMLHttpRequest, because fetch cannot report
   * upload progress. Resolves when S3 has the whole file.
   */
  function uploadToS3(ticket, file, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(ticket.fields)) form.append(k, v);
      form.append('file', file);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', ticket.url);
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      });
      xhr.addEventListener('load', () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`storage answered ${xhr.status}`))));
      xhr.addEventListener('error', () => reject(new Error('the upload was interrupted')));
      xhr.addEventListener('abort', () => reject(new Error('the upload was cancelled')));
      xhr.send(form);
    });
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KB`;
    return `${Math.round(bytes / 104857.6) / 10} MB`;
  }

  function formatTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function timeAgo(iso) {
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return 'just now';
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return new Date(iso).toLocaleDateString();
  }

  const extensionOf = (name) => {
    const dot = name.lastIndexOf('.');
    return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
  };

  /** One row of the upload list: name, size, progress, then done or the reason it failed. */
  function uploadRow(file) {
    const progress = el('progress', { max: '1', value: '0', 'aria-label': `Uploading ${file.name}` });
    const state = el('span', { class: 'state' }, 'Waiting…');
    const row = el('li', { class: 'upload' }, el('span', {}, file.name, ' ', el('span', { class: 'muted' }, `(${formatSize(file.size)})`)), state, progress);
    return {
      row,
      progress(fraction) {
        progress.value = fraction;
        state.textContent = `${Math.round(fraction * 100)}%`;
      },
      done(text) {
        row.classList.add('done');
        progress.value = 1;
        state.textContent = text;
        setTimeout(() => row.remove(), 2500);
      },
      failed(text) {
        row.classList.add('failed');
        progress.remove();
        state.textContent = text;
        const dismiss = el('button', { type: 'button', class: 'secondary small', 'aria-label': `Dismiss: ${file.name}`, onclick: () => dismissRow(row) }, 'Dismiss');
        row.append(dismiss);
      },
      /** Uploaded and sent; stays until `accepted` or `refused` says what became of it. */
      checking(text) {
        row.classList.add('checking');
        progress.value = 1;
        state.textContent = text;
      },
      accepted() {
        row.remove();
      },
      /** "<file> was refused: <reason>", kept until dismissed. */
      refused(name, reason) {
        row.classList.remove('checking');
        row.classList.add('refused');
        this.failed(`${name} was refused: ${reason}`);
      },
    };
  }

  /** Removes a row; the focus moves to the next control instead of getting lost. */
  function dismissRow(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    const focusNext = row.contains(document.activeElement);
    row.remove();
    if (!focusNext) return;
    const target = (next && next.querySelector('button')) || document.getElementById('text');
    if (target) target.focus();
  }

  /**
   * Renders one message of the transcript (SPEC 7 shape). `names` says who is who;
   * `inlineImages` shows image files as pictures as well as links; `onButton(index)` makes
   * the message's buttons clickable.
   */
  function renderMessage(m, { names, inlineImages, onButton }) {
    const who = m.from === 'user' ? names.user : m.from === 'agent' ? (m.agent && m.agent.name) || 'Agent' : names.bot;
    const bubble = el('div', { class: 'bubble' });
    if (m.text) bubble.append(m.text);
    if (m.attachments && m.attachments.length) {
      bubble.append(
        el(
          'ul',
          { class: 'files', 'aria-label': 'Files' },
          m.attachments.map((a) => {
            // The malware scan (SPEC 13): no link while it runs, a badge and no link once it refused the file.
            if (a.scan === 'pending' || a.scan === 'infected' || a.scan === 'unscannable') {
              const badge = { pending: 'Checking for viruses…', infected: 'Malware found: file deleted', unscannable: 'Could not be checked for viruses: not accepted' }[a.scan];
              return el('li', { class: `file scan-${a.scan}`, 'data-scan': a.scan }, el('span', {}, el('span', { class: 'file-name' }, a.fileName), ' ', el('span', { class: a.scan === 'pending' ? 'meta' : 'scan-badge', role: 'status' }, badge)));
            }
            const isImage = inlineImages && (a.inline !== undefined ? a.inline : /^image\/(png|jpeg|gif|bmp|webp)$/i.test(a.contentType));
            return el(
              'li',
              { class: 'file' },
              isImage ? el('a', { href: a.url, download: a.fileName }, el('img', { src: a.url, alt: a.fileName, loading: 'lazy' })) : null,
              el('span', {}, el('a', { class: 'file-name', href: a.url, download: a.fileName }, a.fileName), ' ', el('span', { class: 'meta' }, `${formatSize(a.size)} · download`)),
            );
          }),
        ),
      );
    }
    if (m.buttons && m.buttons.length) {
      bubble.append(
        el(
          'div',
          { class: 'buttons', role: 'group', 'aria-label': 'Choices' },
          m.buttons.map((b, i) => el('button', { type: 'button', disabled: !onButton, onclick: onButton ? () => onButton(i) : undefined }, b.label)),
        ),
      );
    }
    return el(
      'li',
      { class: `msg from-${m.from}${m.warning ? ' warning' : ''}`, 'data-id': m.id },
      el('span', { class: 'who' }, who),
      bubble,
      el('time', { class: 'time', datetime: m.at }, formatTime(m.at)),
    );
  }

  /**
   * Live updates (SPEC 10): one WebSocket while it can be held, polling as the fallback.
   * While the socket is open, frames go to `onFrame` and nothing polls (a ping every few
   * minutes keeps an idle socket alive); right after it opens `poll()` runs once to catch up.
   * When it cannot connect or drops, `poll()` runs after 3 s, then 6, 12 and every 15 s, and
   * the socket is tried again after each of those polls. `nudge()` polls now unless the
   * socket is open (after the client itself sent something).
   */
  const POLL_MIN_MS = 3000;
  const POLL_MAX_MS = 15000;
  const PING_MS = 4 * 60 * 1000;
  function liveChannel({ url, onFrame, poll }) {
    let ws = null;
    let timer = null;
    let pinger = null;
    let delay = POLL_MIN_MS;
    let stopped = false;
    const isOpen = () => Boolean(ws && ws.readyState === WebSocket.OPEN);

    function fallback() {
      clearTimeout(timer);
      if (stopped) return;
      timer = setTimeout(async () => {
        await poll();
        delay = Math.min(delay * 2, POLL_MAX_MS);
        connect();
      }, delay);
    }

    function connect() {
      if (stopped) return;
      if (!url || typeof WebSocket !== 'function') return fallback();
      try {
        // A function gives the address afresh on each connect (the agent console's token is refreshed).
        ws = new WebSocket(typeof url === 'function' ? url() : url);
      } catch {
        ws = null;
        return fallback();
      }
      const socket = ws;
      socket.addEventListener('open', () => {
        clearTimeout(timer);
        delay = POLL_MIN_MS;
        pinger = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('{"type":"ping"}'), PING_MS);
        poll();
      });
      socket.addEventListener('message', (e) => {
        let frame;
        try {
          frame = JSON.parse(e.data);
        } catch {
          return;
        }
        if (frame && frame.type !== 'pong') onFrame(frame);
      });
      socket.addEventListener('close', () => {
        clearInterval(pinger);
        if (ws === socket) ws = null;
        fallback();
      });
    }

    connect();
    return {
      isOpen,
      nudge: () => (isOpen() ? undefined : poll()),
      stop() {
        stopped = true;
        clearTimeout(timer);
        clearInterval(pinger);
        if (ws) ws.close();
        ws = null;
      },
    };
  }

  /** Puts a transcript node in id order (pushes and polls may arrive out of order). */
  function insertById(list, node, id) {
    const n = Number(id);
    const after = [...list.children].find((li) => Number(li.getAttribute('data-id')) > n);
    list.insertBefore(node, after || null);
  }

  return { config, el, api, limits, ApiError, sendKeyed, uploadToS3, formatSize, formatTime, timeAgo, extensionOf, uploadRow, renderMessage, liveChannel, insertById };
})();
