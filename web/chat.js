// The web chat client: picks the bot (?bot=, default from the page config), keeps its
// session in localStorage (so the conversation survives reloads and closed tabs until it
// expires), gets the transcript pushed over the bot's socket (polling with the cursor when the
// socket cannot be held), sends text, button presses and files (presigned POST to S3 with
// progress, then a message naming the upload).
'use strict';

(() => {
  const { config, el, api, sendKeyed, uploadToS3, uploadRow, renderMessage, extensionOf, formatSize, liveChannel, insertById } = window.Satchel;
  const $ = (id) => document.getElementById(id);

  const botId = new URLSearchParams(location.search).get('bot') || config.defaultBot;
  let bot = null; // { botId, name, attachments, socketUrl? }
  let session = null; // { sessionId, token }
  let cursor = '';
  let status = '';
  let channel = null; // the socket, or polling while it cannot be held
  let ended = false;
  /** Idempotency keys kept for messages not known to have arrived (see send()). */
  const unsentKeys = new Map(); // JSON body -> key, while that message is not known to have arrived
  const seen = new Set();

  /**
   * The conversation is kept per bot in localStorage: it survives reloads and a closed tab
   * until the session expires (the server then answers 410 and it is forgotten) or the user
   * starts a new one. Storage may be refused (a sandboxed frame): the chat then lasts as long
   * as the page.
   */
  const saved = {
    key: `satchel.chat.${botId}`,
    read() {
      try {
        const s = JSON.parse(localStorage.getItem(this.key) || 'null');
        return s && typeof s.sessionId === 'string' && typeof s.token === 'string' ? s : null;
      } catch {
        return null;
      }
    },
    write(s) {
      try {
        localStorage.setItem(this.key, JSON.stringify(s));
      } catch {
        /* storage refused: the conversation lasts as long as the page */
      }
    },
    clear() {
      try {
        localStorage.removeItem(this.key);
      } catch {
        /* nothing kept */
      }
    },
  };

  // --- The banner: one line for the state that matters most (an ended conversation, then a
  // connection problem, then who the user is talking to). A problem clears itself as soon as a
  // read, a send or a push gets through again.
  const notice = { ended: '', problem: '' };

  function renderBanner() {
    const b = $('banner');
    let text = '';
    let kind = '';
    if (notice.ended) [text, kind] = [notice.ended, 'error'];
    else if (notice.problem) [text, kind] = [notice.problem, 'error'];
    else if (status === 'taken_over') [text, kind] = ['You are chatting with a person from our team.', 'agent'];
    else if (status === 'waiting_for_agent') text = 'Waiting for someone from our team…';
    b.hidden = !text;
    b.textContent = text;
    b.className = `banner${kind ? ` ${kind}` : ''}`;
  }

  function problem(text) {
    notice.problem = text || '';
    renderBanner();
  }

  /**
   * The server could not be reached (a send, a read). While the socket still looks open
   * nothing else would read again, so the transcript is read every few seconds until a read
   * gets through: the banner then clears and anything missed meanwhile shows.
   */
  let recheck = null;
  function unreachable(err) {
    problem(err.message);
    if (err.status !== 0 || recheck) return;
    recheck = setTimeout(async () => {
      recheck = null;
      await poll();
    }, 3000);
  }

  /** Something got through: a connection problem is over. */
  function reached() {
    if (notice.problem) problem('');
  }

  function setupBotPicker() {
    if (!config.bots || config.bots.length < 2) return;
    const picker = $('bot-picker');
    for (const b of config.bots) picker.append(el('option', { value: b.id, selected: b.id === botId }, b.name));
    picker.addEventListener('change', () => {
      const url = new URL(location.href);
      url.searchParams.set('bot', picker.value);
      location.assign(url.toString());
    });
    $('bot-picker-label').hidden = false;
  }

  async function loadBot() {
    if (!botId) {
      problem('No bot is configured for the web chat.');
      return false;
    }
    try {
      bot = await api('GET', `/web/bots/${encodeURIComponent(botId)}/config`);
    } catch (err) {
      problem(err.status === 404 ? `There is no bot called "${botId}".` : err.message);
      return false;
    }
    // The bot's look (SPEC 11): title, colour and the start card's greeting.
    const theme = bot.theme || {};
    window.SatchelEmbed.applyTheme(theme);
    $('bot-name').textContent = theme.title || bot.name;
    document.title = `${theme.title || bot.name} · Satchel`;
    if (theme.greeting) $('start-intro').textContent = theme.greeting;
    const a = bot.attachments;
    $('file-hint').textContent = `You can send ${a.allowedTypes.join(', ')} files up to ${formatSize(a.sizeLimitBytes)}${
      a.limitPerConversation ? `, ${a.limitPerConversation} per conversation` : ''
    }. Drag them here or use Attach.`;
    return true;
  }

  function showStart() {
    $('start').hidden = false;
    $('composer').hidden = true;
    $('restart').hidden = true;
    $('user-name').focus();
  }

  async function startSession(userName) {
    const body = { botId };
    if (userName) body.userName = userName;
    const created = await api('POST', '/web/sessions', { body });
    session = { sessionId: created.sessionId, token: created.token };
    saved.write({ ...session, expiresAt: created.expiresAt });
    enterChat();
  }

  function enterChat() {
    ended = false;
    notice.ended = '';
    $('start').hidden = true;
    $('composer').hidden = false;
    $('restart').hidden = false;
    renderBanner();
    startLive();
    $('text').focus();
  }

  /** The socket for this session (SPEC 10); without a socketUrl, polling only. */
  function startLive() {
    if (channel) channel.stop();
    const url = bot && bot.socketUrl ? `${bot.socketUrl}?${new URLSearchParams({ token: session.token, sessionId: session.sessionId })}` : '';
    channel = liveChannel({ url, onFrame, poll });
  }

  /**
   * A pushed `messages` frame: the same objects the poll returns. A gap before it means a
   * missed push, or a message still being written: poll until the transcript has caught up to
   * the frame (a gap closes within about 30 s). The cursor only ever moves past messages this
   * page holds, so a frame that carries none (a status change) cannot skip any.
   */
  function onFrame(frame) {
    if (frame.type !== 'messages' || !session || frame.sessionId !== session.sessionId || ended) return;
    reached();
    updateStatus(frame.status);
    const last = frame.messages[frame.messages.length - 1];
    if (!last) return;
    const first = frame.messages[0];
    if (Number(first.id) > Number(cursor || 0) + 1) return void catchUp(Number(last.id), 0);
    for (const m of frame.messages) addMessage(m);
    if (Number(last.id) > Number(cursor || 0)) cursor = last.id;
  }

  /** Polls until the cursor reaches `id`, every 2 s for up to a minute. */
  async function catchUp(id, tries) {
    await poll();
    if (Number(cursor || 0) < id && tries < 30 && !ended) setTimeout(() => void catchUp(id, tries + 1), 2000);
  }

  function endConversation(text) {
    ended = true;
    if (channel) channel.stop();
    saved.clear();
    $('composer').hidden = true;
    notice.ended = text;
    notice.problem = '';
    renderBanner();
  }

  function updateStatus(next) {
    if (next === status) return;
    status = next;
    renderBanner();
    refreshButtons();
  }

  /** The most messages one read returns (the server's page): a restored conversation longer than that reads on. */
  const PAGE = 200;

  /** One read of the transcript since the cursor (the socket's catch-up, or the fallback's poll). */
  async function poll() {
    if (!session || ended) return;
    const current = session;
    try {
      for (let pages = 0; pages < 50; pages++) {
        const res = await api('GET', `/web/sessions/${current.sessionId}/messages${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`, { token: current.token });
        if (session !== current) return;
        reached();
        if (Number(res.cursor) > Number(cursor || 0)) cursor = res.cursor;
        for (const m of res.messages) addMessage(m);
        updateStatus(res.status);
        if (res.messages.length < PAGE) break;
      }
      // A file still being scanned (SPEC 13): read its message again, so a page without the
      // socket sees the verdict too. The cursor does not move back.
      const held = [...$('messages').querySelectorAll('li.file[data-scan="pending"]')].map((li) => Number(li.closest('[data-id]').getAttribute('data-id')));
      if (held.length && session === current) {
        const again = await api('GET', `/web/sessions/${current.sessionId}/messages?after=${Math.min(...held) - 1}`, { token: current.token });
        if (session === current) for (const m of again.messages) if (held.includes(Number(m.id))) addMessage(m);
      }
    } catch (err) {
      if (session !== current) return;
      if (err.status === 410 || err.status === 401) {
        // A conversation kept from an earlier visit that has expired meanwhile: offer a new one.
        if (!seen.size) {
          restart();
          return problem('Your previous conversation has ended. You can start a new one.');
        }
        return endConversation(err.status === 410 ? 'This conversation has ended. Start a new one to keep chatting.' : 'This conversation cannot be opened any more. Start a new one.');
      }
      unreachable(err);
    }
  }

  /** Delivery is at least once (pushes and polls overlap): a message id already shown is dropped. */
  function addMessage(m) {
    if (seen.has(m.id)) {
      // A file's malware verdict comes as its message again (SPEC 13): show the new state in place.
      const shown = m.attachments && $('messages').querySelector(`[data-id="${m.id}"]`);
      if (shown && shown.querySelector('[data-scan="pending"]')) shown.replaceWith(renderMessage(m, { names: { user: 'You', bot: bot ? bot.name : 'Bot' }, inlineImages: true }));
      return;
    }
    seen.add(m.id);
    const node = renderMessage(m, {
      names: { user: 'You', bot: bot ? bot.name : 'Bot' },
      inlineImages: true,
      onButton: m.buttons ? (i) => pressButton(i, node) : undefined,
    });
    if (m.warning && m.fileName) node.querySelector('.bubble').prepend(el('strong', { class: 'refused-file' }, `${m.fileName} was refused: `));
    if (m.from === 'user' && m.text) node.setAttribute('data-text', m.text); // a press carries its button's label
    insertById($('messages'), node, m.id);
    // A message of the user's reached the transcript: whatever was kept for a retry arrived (or
    // is now older than the newest message), so the same words or press again is a new message.
    if (m.from === 'user') unsentKeys.clear();
    refreshButtons();
    settleUploads(m);
    node.scrollIntoView({ block: 'end', behavior: 'smooth' });
  }

  /**
   * Only the newest set of buttons can be pressed: it is what the bot is waiting on. Earlier
   * sets, a set already answered (a later message of the user's carries one of its labels, as
   * a press does), and every set while a person from the team is answering collapse, so no
   * wall of dead buttons builds up.
   */
  function refreshButtons() {
    const list = $('messages');
    const sets = [...list.querySelectorAll('.msg .buttons')];
    const newest = sets[sets.length - 1];
    let live = Boolean(newest) && status !== 'taken_over';
    if (live) {
      const msg = newest.closest('.msg');
      const labels = new Set([...newest.querySelectorAll('button')].map((b) => b.textContent));
      for (let next = msg.nextElementSibling; next && live; next = next.nextElementSibling) {
        if (next.classList.contains('from-user') && labels.has(next.getAttribute('data-text'))) live = false;
      }
    }
    for (const group of sets) {
      const active = group === newest && live;
      group.hidden = !active;
      group.classList.toggle('collapsed', !active);
      for (const b of group.querySelectorAll('button')) b.disabled = !active;
    }
  }

  async function pressButton(index, node) {
    // A keyboard user keeps a place to type once the pressed set collapses.
    const byKeyboard = document.activeElement && document.activeElement.matches(':focus-visible');
    for (const b of node.querySelectorAll('.buttons button')) b.disabled = true;
    if (byKeyboard) $('text').focus();
    if (!(await send({ buttonIndex: index }))) refreshButtons();
  }

  // Each message carries an Idempotency-Key (common.js): a connection failure, 429 or 5xx is
  // tried again by itself a few times; after that the words stay in the box, and sending them
  // again reuses the key.
  async function send(body) {
    // The conversation this message belongs to: a retry never goes to another one.
    const target = session;
    const out = await sendKeyed(
      unsentKeys,
      JSON.stringify(body),
      (key) => api('POST', `/web/sessions/${target.sessionId}/messages`, { token: target.token, body, headers: { 'idempotency-key': key } }),
      {
        // The user ended or left this conversation meanwhile: the message stays unsent.
        goOn: () => session === target && !ended,
        onWait: (err) => err.status === 0 && unreachable(err),
      },
    );
    if (out.ok) {
      reached();
      channel.nudge();
      return true;
    }
    if (out.stopped || session !== target) return false;
    if (out.err.status === 410) endConversation('This conversation has ended. Start a new one to keep chatting.');
    else unreachable(out.err);
    return false;
  }

  // --- Files. A sent file waits in the list ("checking") until the transcript says what
  // became of it: kept (the row goes), or refused after upload (the row names the file and
  // the reason until the user dismisses it).
  const checking = []; // { name, row }

  function settleUploads(m) {
    if (!checking.length) return;
    const take = (name) => {
      const i = name === undefined ? 0 : checking.findIndex((c) => c.name === name);
      return i >= 0 ? checking.splice(i, 1)[0] : undefined;
    };
    if (m.from === 'user' && m.attachments) {
      for (const a of m.attachments) {
        const pending = take(a.fileName);
        if (pending) pending.row.accepted();
      }
    }
    if (m.warning && m.warning.startsWith('attachment_')) {
      // A warning that cannot name its file (its upload was lost) settles the oldest one.
      const pending = take(m.fileName);
      if (pending) pending.row.refused(pending.name, m.text);
    }
  }

  /** One file: plain-words check against the bot's rules, upload slot, S3 POST with progress, message. */
  async function sendFile(file) {
    const row = uploadRow(file);
    $('uploads').append(row.row);
    const rules = bot.attachments;
    if (!rules.allowedTypes.includes(extensionOf(file.name))) {
      return row.refused(file.name, `this type of file is not accepted. You can send ${rules.allowedTypes.join(', ')} files.`);
    }
    if (file.size > rules.sizeLimitBytes) return row.refused(file.name, `the file is larger than ${formatSize(rules.sizeLimitBytes)}.`);
    if (file.size === 0) return row.refused(file.name, 'the file is empty.');
    let ticket;
    try {
      ticket = await api('POST', `/web/sessions/${session.sessionId}/uploads`, {
        token: session.token,
        body: { fileName: file.name, size: file.size, contentType: file.type || 'application/octet-stream' },
      });
    } catch (err) {
      channel.nudge(); // a refusal is also explained in the conversation
      return err.status === 0 ? row.failed(`Not sent: ${err.message}`) : row.refused(file.name, err.message);
    }
    try {
      await uploadToS3(ticket, file, (f) => row.progress(f));
    } catch (err) {
      return row.failed(`Not sent: ${err.message}. Please try again.`);
    }
    // Waiting for the outcome before the message goes: a pushed verdict may beat the 202.
    const pending = { name: file.name, row };
    checking.push(pending);
    row.checking('Sent — checking the file…');
    if (!(await send({ uploadIds: [ticket.uploadId] }))) {
      checking.splice(checking.indexOf(pending), 1);
      row.failed('Not sent. Please try again.');
    }
  }

  function sendFiles(files) {
    if (!session || ended) return;
    for (const f of files) void sendFile(f);
  }

  // --- New conversation: asked first, in a modal dialog (focus stays in it, Escape keeps the
  // conversation), then the page forgets this one and offers to start another.
  function askRestart() {
    if (ended) return restart(); // nothing left to lose
    const dialog = $('restart-dialog');
    if (typeof dialog.showModal !== 'function') {
      if (window.confirm('Start a new conversation? This one will close on this device.')) restart();
      return;
    }
    dialog.returnValue = '';
    dialog.showModal();
    // Focused here rather than by `autofocus`, which Chromium refuses inside a cross-origin
    // frame (the embedded widget) and reports as an error.
    dialog.querySelector('button[value="keep"]').focus();
  }

  function restart() {
    if (channel) channel.stop();
    channel = null;
    saved.clear();
    session = null;
    cursor = '';
    status = '';
    ended = false;
    seen.clear();
    checking.length = 0;
    notice.ended = '';
    notice.problem = '';
    $('messages').replaceChildren();
    $('uploads').replaceChildren();
    renderBanner();
    const start = $('start').querySelector('button[type="submit"]');
    if (start) start.disabled = false;
    showStart();
  }

  function wireComposer() {
    $('composer').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = $('text').value;
      // Enter submits even while Send is disabled: one message at a time.
      if (!text.trim() || $('send').disabled) return;
      $('send').disabled = true;
      if (await send({ text })) $('text').value = '';
      $('send').disabled = false;
      $('text').focus();
    });
    $('text').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        $('composer').requestSubmit();
      }
    });
    $('attach').addEventListener('click', () => $('file-input').click());
    $('file-input').addEventListener('change', () => {
      sendFiles([...$('file-input').files]);
      $('file-input').value = '';
    });
    // Drag and drop anywhere on the page.
    let depth = 0;
    const overlay = $('drop-overlay');
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    document.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !session || ended) return;
      depth++;
      overlay.hidden = false;
    });
    document.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) overlay.hidden = true;
    });
    document.addEventListener('dragover', (e) => {
      if (hasFiles(e)) e.preventDefault();
    });
    document.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      sendFiles([...e.dataTransfer.files]);
    });
    $('restart').addEventListener('click', askRestart);
    $('restart-dialog').addEventListener('close', () => {
      if ($('restart-dialog').returnValue === 'restart') restart();
      else $('restart').focus();
    });
    $('start').addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = e.submitter;
      if (button) button.disabled = true;
      try {
        await startSession($('user-name').value.trim());
      } catch (err) {
        problem(err.message);
        if (button) button.disabled = false;
      }
    });
  }

  async function main() {
    setupBotPicker();
    wireComposer();
    if (!(await loadBot())) return;
    session = saved.read();
    if (!session) return showStart();
    enterChat();
    void poll(); // the transcript is read again from the start, without waiting for the socket

  }

  void main();
})();
