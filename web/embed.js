// What the chat page does for the embeddable widget (SPEC 11): it takes the bot's look (its
// theme colour, with the colours derived from it that keep text readable) and, inside the
// widget's panel (`?embed=1` in a frame), Escape asks the embedding page to close the panel,
// which a frame on another origin cannot do itself.
'use strict';

window.SatchelEmbed = (() => {
  const embedded = new URLSearchParams(location.search).get('embed') === '1' && window.parent !== window;
  if (embedded) {
    document.documentElement.classList.add('embedded');
    document.addEventListener('keydown', (e) => {
      // An open dialog of the page takes its own Escape.
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open]')) return;
      window.parent.postMessage({ type: 'satchel:close' }, '*');
    });
    // When the panel opens again, focus goes back to the control it was on (or to the message
    // box), not to the document, from where Tab would start over at the page's top.
    let last = null;
    document.addEventListener('focusin', (e) => {
      last = e.target;
    });
    const usable = (node) => node && node.isConnected && !node.disabled && node.getClientRects().length > 0;
    const TABBABLE = 'a[href], button, input, select, textarea, [tabindex]';
    window.addEventListener('message', (e) => {
      if (e.source !== window.parent || !e.data || e.data.type !== 'satchel:focus') return;
      // Shift+Tab coming round from the panel's close button lands on the chat's last control.
      const lastControl = () => [...document.querySelectorAll(TABBABLE)].filter((n) => usable(n) && n.tabIndex >= 0).pop();
      const control = last && last.matches('a[href], button, input, select, textarea') ? last : null;
      const target = e.data.edge === 'last' ? lastControl() : [control, document.getElementById('text'), document.getElementById('user-name')].find(usable);
      if (target) target.focus();
    });
  }

  const WHITE = [255, 255, 255];
  const BLACK = [0, 0, 0];
  /** The page background (--bg) and its surfaces, on which accent-coloured text must stay readable. */
  const BG = [244, 246, 248];

  const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const hexOf = (rgb) => `#${rgb.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
  const mix = (rgb, to, t) => rgb.map((v, i) => v + (to[i] - v) * t);
  function luminance(rgb) {
    const [r, g, b] = rgb.map((v) => {
      const c = Math.round(v) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  /** WCAG contrast ratio of two colours. */
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  /**
   * The page's accent colours from one theme colour: `onAccent` (white or black, whichever
   * reads better on it), `hover` (further from onAccent), `soft` (a light tint for
   * backgrounds) and `dark` (the colour darkened until text in it reads at 4.5:1 or more on
   * white, the tint and the page background).
   */
  function palette(hex) {
    const accent = rgbOf(hex);
    const onAccent = contrast(accent, WHITE) >= contrast(accent, BLACK) ? WHITE : BLACK;
    const hover = mix(accent, onAccent === WHITE ? BLACK : WHITE, 0.18);
    const soft = mix(accent, WHITE, 0.88);
    let dark = accent;
    for (let step = 1; step <= 20 && [WHITE, soft, BG].some((s) => contrast(dark, s) < 4.6); step++) dark = mix(accent, BLACK, step / 20);
    return { accent: hexOf(accent), onAccent: hexOf(onAccent), hover: hexOf(hover), soft: hexOf(soft), dark: hexOf(dark) };
  }

  /** Applies a bot's `theme.color` (#rrggbb) to the page's CSS custom properties; anything else is ignored. */
  function applyTheme(theme) {
    if (!theme || !/^#[0-9a-fA-F]{6}$/.test(theme.color || '')) return;
    const p = palette(theme.color);
    const style = document.documentElement.style;
    style.setProperty('--accent', p.accent);
    style.setProperty('--on-accent', p.onAccent);
    style.setProperty('--accent-hover', p.hover);
    style.setProperty('--accent-soft', p.soft);
    style.setProperty('--accent-dark', p.dark);
  }

  return { embedded, applyTheme, palette, contrast: (a, b) => contrast(rgbOf(a), rgbOf(b)) };
})();
