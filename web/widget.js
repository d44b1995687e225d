// Satchel's embeddable chat (SPEC 11). A site adds
//   <script src="https://<API>/widget.js" data-bot="<bot id>" async></script>
// and gets a launcher button at the bottom right that opens the bot's chat page in an iframe
// panel. Escape or the close button hides the panel and gives focus back to the launcher.
// One dependency-free file. What it draws lives in a shadow root, styled by a constructed
// style sheet, so the host page's CSS cannot reach in and ours cannot leak out; the chat
// itself runs in the iframe, on the API's origin, where it keeps its conversation.
(() => {
  'use strict';

  const script =
    document.currentScript ||
    [...document.querySelectorAll('script[src][data-bot]')].find((s) => /\/widget\.js([?#]|$)/.test(s.src));
  if (!script) return;
  const botId = script.getAttribute('data-bot');
  if (!botId) {
    console.error('Satchel widget: add data-bot="<bot id>" to the widget script tag.');
    return;
  }
  // The snippet pasted twice draws one launcher.
  const mounted = (window.__satchelWidgets = window.__satchelWidgets || {});
  if (mounted[botId]) return;
  mounted[botId] = true;

  // Where the script came from is where the API is (with any path prefix it has).
  const base = new URL('.', script.src);
  const chatUrl = new URL(base.href);
  chatUrl.search = new URLSearchParams({ bot: botId, embed: '1' }).toString();
  const DEFAULT_COLOR = '#0b6e6e';

  /** WCAG relative luminance of #rrggbb. */
  function luminance(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  /** White or black, whichever is easier to read on the colour (at least 4.58:1 either way). */
  function textOn(hex) {
    const l = luminance(hex);
    return (1.05 / (l + 0.05) >= (l + 0.05) / 0.05) ? '#ffffff' : '#000000';
  }

  const CSS = `
    :host { all: initial !important; }
    .satchel {
      all: initial; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
      font-size: 16px; line-height: 1.4; color: #1d2731;
      --accent: ${DEFAULT_COLOR}; --on-accent: #ffffff;
    }
    .satchel *, .satchel *::before, .satchel *::after { box-sizing: border-box; }
    [hidden] { display: none !important; }
    button {
      all: unset; box-sizing: border-box; cursor: pointer; font: inherit; display: inline-flex;
      align-items: center; justify-content: center; gap: 0.5rem;
    }
    button:focus-visible { outline: 3px solid #1a5fd0; outline-offset: 2px; box-shadow: 0 0 0 5px #ffffff; }
    svg { width: 24px; height: 24px; flex: none; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
    .launcher {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      min-height: 56px; min-width: 56px; max-width: min(320px, calc(100vw - 40px)); padding: 0 20px 0 16px; border-radius: 28px;
      background: var(--accent); color: var(--on-accent); font-weight: 600;
      box-shadow: 0 4px 14px rgba(16, 24, 32, 0.28);
    }
    .launcher .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .launcher .when-open { display: none; }
    .open .launcher .when-open { display: block; }
    .open .launcher .when-closed { display: none; }
    .panel {
      position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;
      width: min(400px, calc(100vw - 40px)); height: min(640px, calc(100vh - 108px));
      display: flex; flex-direction: column; overflow: hidden;
      background: #ffffff; border-radius: 14px; box-shadow: 0 8px 32px rgba(16, 24, 32, 0.3);
    }
    .bar {
      display: flex; align-items: center; gap: 0.5rem; padding: 0.35rem 0.35rem 0.35rem 1rem; min-height: 52px;
      background: var(--accent); color: var(--on-accent);
    }
    .title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .close { width: 44px; height: 44px; border-radius: 8px; }
    .close:hover { background: rgba(127, 127, 127, 0.25); }
    iframe { flex: 1; width: 100%; border: 0; background: #f4f6f8; display: block; }
    .wrap { position: absolute; width: 1px; height: 1px; overflow: hidden; outline: none; }
    .visually-hidden {
      position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
      overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;
    }
    /* Phones: the panel takes the whole screen; its close button is the way back. */
    @media (max-width: 480px) {
      .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; }
      .open .launcher { display: none; }
      .launcher { padding: 0; width: 56px; }
      .launcher .label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0, 0, 0, 0); }
    }
  `;

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function icon(paths, extraClass) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    if (extraClass) svg.setAttribute('class', extraClass);
    for (const d of paths) {
      const path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('d', d);
      svg.append(path);
    }
    return svg;
  }
  const CHAT_ICON = ['M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-5A8 8 0 1 1 21 12z'];
  const CLOSE_ICON = ['M6 6l12 12', 'M18 6L6 18'];

  function node(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    n.append(...children);
    return n;
  }

  function mount(bot) {
    const theme = (bot && bot.theme) || {};
    const title = theme.title || (bot && bot.name) || 'Chat';
    const color = /^#[0-9a-fA-F]{6}$/.test(theme.color || '') ? theme.color : DEFAULT_COLOR;

    const host = document.createElement('satchel-chat-widget');
    const shadow = host.attachShadow({ mode: 'open' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch {
      // Older browsers: a style element (needs style-src to allow it on strict sites).
      shadow.append(node('style', {}, CSS));
    }

    const titleId = 'satchel-panel-title';
    const panelId = 'satchel-panel';
    const close = node('button', { type: 'button', class: 'close', 'aria-label': 'Close chat' }, icon(CLOSE_ICON));
    // On a phone the panel covers the page, so Tab must not wander off behind it: two
    // sentinels at its ends send focus round (they are only Tab stops while it covers the page).
    const wrapStart = node('span', { class: 'wrap', tabindex: '-1' });
    const wrapEnd = node('span', { class: 'wrap', tabindex: '-1' });
    const panel = node(
      'div',
      { id: panelId, class: 'panel', role: 'dialog', 'aria-labelledby': titleId },
      wrapStart,
      node('div', { class: 'bar' }, node('div', { id: titleId, class: 'title' }, title), close),
      wrapEnd,
    );
    panel.hidden = true;
    const fullScreen = window.matchMedia('(max-width: 480px)');
    const coverPage = () => {
      const covers = fullScreen.matches;
      for (const w of [wrapStart, wrapEnd]) w.setAttribute('tabindex', covers ? '0' : '-1');
      panel.setAttribute('aria-modal', covers ? 'true' : 'false');
    };
    coverPage();
    fullScreen.addEventListener('change', coverPage);
    const launcher = node(
      'button',
      { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': panelId },
      icon(CHAT_ICON, 'when-closed'),
      icon(CLOSE_ICON, 'when-open'),
      node('span', { class: 'label' }, title),
    );
    // The launcher first: from it, Tab leads into the open panel.
    const root = node('div', { class: 'satchel' }, launcher, panel);
    root.style.setProperty('--accent', color);
    root.style.setProperty('--on-accent', textOn(color));
    shadow.append(root);

    let frame = null;
    let loaded = false;
    const isOpen = () => !panel.hidden;

    function open() {
      if (!frame) {
        // Made on first open, so pages that never chat do not load the chat.
        frame = node('iframe', { title: `${title} chat`, src: chatUrl.href });
        frame.addEventListener('load', () => {
          loaded = true;
          if (isOpen() && shadow.activeElement === frame) frame.contentWindow.focus();
        });
        panel.insertBefore(frame, wrapEnd);
      }
      panel.hidden = false;
      root.classList.add('open');
      launcher.setAttribute('aria-expanded', 'true');
      focusChat();
    }

    /** Focus into the chat: back where it was, or (`last`, going backwards) on its last control. */
    function focusChat(edge) {
      frame.focus();
      // The chat moves focus itself (on first load it focuses its first field anyway).
      if (loaded) frame.contentWindow.postMessage({ type: 'satchel:focus', edge }, base.origin);
    }

    function hide() {
      if (!isOpen()) return;
      panel.hidden = true;
      root.classList.remove('open');
      launcher.setAttribute('aria-expanded', 'false');
      launcher.focus();
    }

    launcher.addEventListener('click', () => (isOpen() ? hide() : open()));
    wrapEnd.addEventListener('focus', () => close.focus());
    wrapStart.addEventListener('focus', () => (frame ? focusChat('last') : close.focus()));
    close.addEventListener('click', hide);
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && isOpen()) {
        e.stopPropagation();
        hide();
      }
    });
    // Escape pressed inside the chat: the frame cannot reach this page, so it asks.
    window.addEventListener('message', (e) => {
      if (!frame || e.source !== frame.contentWindow || e.origin !== base.origin) return;
      if (e.data && e.data.type === 'satchel:close') hide();
    });

    mounted[botId] = { open, close: hide };
    document.body.append(host);
  }

  // The launcher takes the bot's title and colour (public, credential-free config). A bot
  // that does not exist draws nothing; an unreachable API still draws the launcher, whose
  // chat then says what is wrong.
  const configUrl = new URL(`web/bots/${encodeURIComponent(botId)}/config`, base);
  const bot = fetch(configUrl.href, { credentials: 'omit', headers: { accept: 'application/json' } })
    .then((res) => {
      if (res.status === 404) {
        console.error(`Satchel widget: there is no bot "${botId}" at ${base.origin}.`);
        return null;
      }
      return res.ok ? res.json() : {};
    })
    .catch(() => ({}));

  const bodyReady = new Promise((resolve) => {
    if (document.body) resolve();
    else document.addEventListener('DOMContentLoaded', () => resolve(), { once: true });
  });

  Promise.all([bot, bodyReady]).then(([config]) => {
    if (config) mount(config);
    else delete mounted[botId];
  });
})();
