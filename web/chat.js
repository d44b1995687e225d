// The web chat client: picks the bot (?bot=, default from the page config), keeps its
// session in sessionStorage, gets the transcript pushed over the bot's socket (polling with
// the cursor when the socket cannot be held), sends text, button presses and files
// (presigned POST to S3 with progress, then a message naming the upload).
'use strict';

(() => {
  const { config, el, api, uploadToS3, uploadRow, renderMessage, extensionOf, formatSize, liveChannel, insertById } = window.Satchel;
  const $ = (id) => document.getElementById(id);

  const botId = new URLSearchParams(location.search).get('bot') || config.defaultBot;
  const storageKey = `satchel.chat.${botId}`;
  let bot = null; // { botId, name, attachments }
  let session = null; // { sessionId, token }
  let cursor = '';
  let status = '';
  let channel = null; // the socket, or polling while it cannot be held
  let ended = false;
  const seen = new Set();

  function banner(text, kind) {
    const b = $('banner');
    b.hidden = !text;
    b.textContent = text || '';
    b.className = `banner${kind ? ` ${kind}` : ''}`;
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
      banner('No bot is configured for the web chat.', 'error');
      return false;
    }
    try {
      bot = await api('GET', `/web/bots/${encodeURIComponent(botId)}/config`);
    } catch (err) {
      banner(err.status === 404 ? `There is no bot called "${botId}".` : err.message, 'error');
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
    sessionStorage.setItem(storageKey, JSON.stringify(session));
    enterChat();
  }

  function enterChat() {
    ended = false;
    $('start').hidden = true;
    $('composer').hidden = false;
    $('restart').hidden = false;
    banner('');
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
    sessionStorage.removeItem(storageKey);
    $('composer').hidden = true;
    banner(text, 'error');
  }

  function updateStatus(next) {
    if (next === status) return;
    status = next;
    if (status === 'taken_over') banner('You are chatting with a person from our team.', 'agent');
    else if (status === 'waiting_for_agent') banner('Waiting for someone from our team…');
    else banner('');
  }

  /** One read of the transcript since the cursor (the socket's catch-up, or the fallback's poll). */
  async function poll() {
    if (!session || ended) return;
    const current = session;
    try {
      const res = await api('GET', `/web/sessions/${current.sessionId}/messages${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`, { token: current.token });
      if (session !== current) return;
      if (Number(res.cursor) > Number(cursor || 0)) cursor = res.cursor;
      for (const m of res.messages) addMessage(m);
      updateStatus(res.status);
    } catch (err) {
      if (err.status === 410) return endConversation('This conversation has ended. Start a new one to keep chatting.');
      if (err.status === 401) return endConversation('This conversation cannot be opened any more. Start a new one.');
      banner(err.message, 'error');
    }
  }

  /** Delivery is at least once (pushes and polls overlap): a message id already shown is dropped. */
  function addMessage(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    // Only the newest set of buttons can be pressed: it is what the bot is waiting on.
    if (m.buttons && m.buttons.length) for (const old of document.querySelectorAll('#messages .buttons button')) old.disabled = true;
    const node = renderMessage(m, {
      names: { user: 'You', bot: bot ? bot.name : 'Bot' },
      inlineImages: false,
      onButton: m.buttons ? (i) => pressButton(i, node) : undefined,
    });
    insertById($('messages'), node, m.id);
    node.scrollIntoView({ block: 'end', behavior: 'smooth' });
  }

  async function pressButton(index, node) {
    for (const b of node.querySelectorAll('.buttons button')) b.disabled = true;
    await send({ buttonIndex: index });
  }

  async function send(body) {
    try {
      await api('POST', `/web/sessions/${session.sessionId}/messages`, { token: session.token, body });
      channel.nudge();
      return true;
    } catch (err) {
      if (err.status === 410) endConversation('This conversation has ended. Start a new one to keep chatting.');
      else banner(err.message, 'error');
      return false;
    }
  }

  /** One file: plain-words check against the bot's rules, upload slot, S3 POST with progress, message. */
  async function sendFile(file) {
    const row = uploadRow(file);
    $('uploads').append(row.row);
    const rules = bot.attachments;
    if (!rules.allowedTypes.includes(extensionOf(file.name))) {
      return row.failed(`Not sent: this type of file is not accepted. You can send ${rules.allowedTypes.join(', ')} files.`);
    }
    if (file.size > rules.sizeLimitBytes) return row.failed(`Not sent: the file is larger than ${formatSize(rules.sizeLimitBytes)}.`);
    if (file.size === 0) return row.failed('Not sent: the file is empty.');
    let ticket;
    try {
      ticket = await api('POST', `/web/sessions/${session.sessionId}/uploads`, {
        token: session.token,
        body: { fileName: file.name, size: file.size, contentType: file.type || 'application/octet-stream' },
      });
    } catch (err) {
      channel.nudge(); // a refusal is also explained in the conversation
      return row.failed(`Not sent: ${err.message}`);
    }
    try {
      await uploadToS3(ticket, file, (f) => row.progress(f));
    } catch (err) {
      return row.failed(`Not sent: ${err.message}. Please try again.`);
    }
    if (await send({ uploadIds: [ticket.uploadId] })) row.done('Sent — checking the file…');
    else row.failed('Not sent. Please try again.');
  }

  function sendFiles(files) {
    if (!session || ended) return;
    for (const f of files) void sendFile(f);
  }

  function wireComposer() {
    $('composer').addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = $('text').value;
      if (!text.trim()) return;
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
    $('restart').addEventListener('click', () => {
      sessionStorage.removeItem(storageKey);
      location.reload();
    });
    $('start').addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = e.submitter;
      if (button) button.disabled = true;
      try {
        await startSession($('user-name').value.trim());
      } catch (err) {
        banner(err.message, 'error');
        if (button) button.disabled = false;
      }
    });
  }

  async function main() {
    setupBotPicker();
    wireComposer();
    if (!(await loadBot())) return;
    try {
      session = JSON.parse(sessionStorage.getItem(storageKey) || 'null');
    } catch {
      session = null;
    }
    if (session && session.sessionId && session.token) enterChat();
    else showStart();
  }

  void main();
})();
