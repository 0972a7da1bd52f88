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
    case 'limit_exceeded':
      if (d.max) return `Limit reached: at most ${d.max} ${d.limit && d.limit.includes('member') ? 'members' : ''}. ${err.message}`.replace(/\s+\./, '.');
      return `Limit reached: ${err.message}`;
    case 'payload_too_large': return `Too large: ${err.message}`;
    case 'rate_limited': return 'Slow down a little and try again in a moment.';
    case 'unavailable':
    case 'deadline_exceeded': return 'The server is unreachable right now. Try again in a moment.';
    case 'permission_denied': return `Not allowed: ${err.message}`;
    case 'not_found': return `Not found: ${err.message}`;
    case 'unauthenticated': return err.message || 'Please sign in again.';
    default: return err.message || String(err);
  }
}
