// lib/send.js: one webhook delivery as Telegram makes it, and the checks on sluice's answer.
//
// POST {SLUICE_TARGET}/webhook/telegram/{bot} with X-Telegram-Bot-Api-Secret-Token; sluice
// answers 200 {"ok":true,"id":...} or {"ok":true,"duplicate":true}, 429/503 with Retry-After.
//
// Failure definition (issue 7 spec): k6's http_req_failed counts a transport error, a timeout or
// a status outside the expected set. The expected set is 2xx (set for every request of the VU
// below, so a 429 or 503 is a failure); only the flood profile's flooding chat expects 429 too,
// per request (`expect: 'limited'`), so that a 429 for a quiet chat still counts as a failure.

import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

/** Base URL of sluice-api's webhook listener. */
export const TARGET = (__ENV.SLUICE_TARGET || 'http://127.0.0.1:8080').replace(/\/+$/, '');
/** Telegram waits about this long for a webhook answer before it gives up and retries. */
const TIMEOUT = __ENV.SLUICE_HTTP_TIMEOUT || '10s';

export const ACCEPTED = http.expectedStatuses({ min: 200, max: 299 });
export const ACCEPTED_OR_LIMITED = http.expectedStatuses({ min: 200, max: 299 }, 429);
http.setResponseCallback(ACCEPTED);

// What the answers said, beyond pass/fail: for people reading the summary.
const duplicates = new Counter('answers_duplicate');
const limited = new Counter('answers_429');
const unavailable = new Counter('answers_503');

/**
 * The request of an update ({bot, body, kind}) as http.batch takes it. Options: `tags` (more
 * tags; keep them low-cardinality), `expect` ('accepted', default, or 'limited').
 */
export function request(update, options) {
  const o = options || {};
  const tags = Object.assign({ name: 'POST /webhook/telegram/{bot}', kind: update.kind }, o.tags || {});
  const params = {
    headers: {
      'Content-Type': 'application/json',
      'X-Telegram-Bot-Api-Secret-Token': update.bot.secret,
    },
    tags: tags,
    timeout: TIMEOUT,
  };
  if (o.expect === 'limited') params.responseCallback = ACCEPTED_OR_LIMITED;
  return { method: 'POST', url: `${TARGET}/webhook/telegram/${encodeURIComponent(update.bot.name)}`,
    body: update.body, params: params };
}

/** Delivers one update, records what the answer said and returns the response. */
export function send(update, options) {
  const r = request(update, options);
  const res = http.post(r.url, r.body, r.params);
  record(res);
  return res;
}

/** Delivers the same update twice at once (a re-delivery racing the original). */
export function sendTwice(update, options) {
  const r = request(update, options);
  const responses = http.batch([r, r]);
  responses.forEach(record);
  return responses;
}

/** The answer's JSON body, or null when there is none or it is not JSON. */
export function answer(res) {
  if (!res || typeof res.body !== 'string' || res.body.length === 0) return null;
  try {
    return JSON.parse(res.body);
  } catch (e) {
    return null;
  }
}

function isAccepted(res) {
  return res.status >= 200 && res.status < 300;
}

function record(res) {
  if (res.status === 429) limited.add(1);
  else if (res.status === 503) unavailable.add(1);
  else if (isAccepted(res)) {
    const a = answer(res);
    if (a && a.duplicate === true) duplicates.add(1);
  }
}

/** The checks of an update that must be accepted: 2xx and {"ok":true,...}. */
export function checkAccepted(res, tags) {
  return check(res, {
    'status is 2xx': (r) => isAccepted(r),
    'body says ok': (r) => {
      const a = answer(r);
      return a !== null && a.ok === true;
    },
  }, tags);
}

/** The checks of the flooding chat: accepted, or refused with 429 and a Retry-After header. */
export function checkAcceptedOrLimited(res, tags) {
  return check(res, {
    'flooding chat: 2xx or 429': (r) => isAccepted(r) || r.status === 429,
    'flooding chat: a 429 carries Retry-After': (r) => r.status !== 429 || /^\d+$/.test(r.headers['Retry-After'] || ''),
  }, tags);
}

/** Whether an answer was a 2xx, and whether it said `duplicate`. */
export function accepted(res) {
  return isAccepted(res);
}

export function duplicateAnswer(res) {
  const a = isAccepted(res) ? answer(res) : null;
  return a !== null && a.duplicate === true;
}
