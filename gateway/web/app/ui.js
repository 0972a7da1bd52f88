// Small DOM helpers shared by the views: element building, formatting and
// the error text people see.

/**
 * Builds an element: h('button', {class: 'x', onclick: fn}, 'text', child).
 * Attributes starting with "on" become listeners; null/false ones are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const ICONS = {
  // 24×24 stroke paths: no icon font, no emoji (not every system has one).
  attach: 'M21 11.5l-8.5 8.5a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8',
  file: 'M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5M9 13h6M9 17h6',
  clock: 'M12 7v5l3 2M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  checks: 'M1.5 12.5l4.5 4.5L15.5 7.5M10.5 16l1 1L22 7.5',
  image: 'M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15.5 9.5h.01',
};

/** An inline SVG icon, hidden from screen readers (the control has a label). */
export function icon(name, cls = '') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon ${cls}`.trim());
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** 14:05 today, "Nov 3" before. */
export function shortTime(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? timeFmt.format(d) : dayFmt.format(d);
}
export function clock(ms) { return ms ? timeFmt.format(new Date(ms)) : ''; }
export function fullTime(ms) { return ms ? fullFmt.format(new Date(ms)) : ''; }

export function bytes(n) {
  if (!n && n !== 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function initials(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase() || '?';
}

/** A stable hue per id, for avatars. */
export function hue(id) {
  let x = 0;
  for (const ch of String(id)) x = (x * 31 + ch.charCodeAt(0)) % 360;
  return x;
}

export function avatar(id, name, extra = '') {
  const el = h('span', { class: `avatar ${extra}`, 'aria-hidden': 'true' }, initials(name));
  el.style.setProperty('--hue', hue(id));
  return el;
}

/** The sentence a person reads for an error from the platform. */
export function explain(err) {
  if (!err) return '';
  const d = err.details || {};
  switch (err.code) {
    case 'limit_exceeded': {
      const msg = (err.message || '').replace(/^./, (c) => c.toUpperCase());
      return `Limit reached: ${msg}${msg.includes(d.max || '\u0000') ? '' : ` (at most ${d.max || '?'})`}.`;
    }
    case 'payload_too_large':
      if (d.limit_bytes) return `Too large: ${d.type ? `${d.type} files` : 'uploads'} may be at most ${bytes(Number(d.limit_bytes))}.`;
      return `Too large: ${err.message}`;
    case 'rate_limited': return 'Slow down a little and try again in a moment.';
    case 'unavailable':
    case 'deadline_exceeded': return 'The server is unreachable right now. Try again in a moment.';
    case 'permission_denied': return `Not allowed: ${err.message}`;
    case 'not_found': return `Not found: ${err.message}`;
    case 'unauthenticated': return err.message || 'Please sign in again.';
    default: return err.message || String(err);
  }
}
