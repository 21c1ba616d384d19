// lib/profile.js: what every profile script shares: environment overrides, open-model scenario
// shapes, thresholds from thresholds.json, update ids unique in the run, and handleSummary.
//
// Environment (all optional):
//   SLUICE_TARGET        sluice-api's webhook base URL (default http://127.0.0.1:8080)
//   SLUICE_BOTS          the bots file of `sluice-load setup` (default ./bots.json beside the scripts)
//   SLUICE_DURATION      run length: 90, 90s, 5m, 1h (each profile has its default)
//   SLUICE_RATE          arrivals per second (each profile says which rate it scales)
//   SLUICE_SUMMARY       where handleSummary writes the JSON summary (default k6-summary-<profile>.json)
//   SLUICE_ID_BASE       first update_id (default: start time in ms x 1000, unique per run)
//   SLUICE_HTTP_TIMEOUT  per-request timeout (default 10s)

import exec from 'k6/execution';
import { textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
import { TARGET } from './send.js';
import { updateIdBase, updateIdOf } from './traffic.js';

/** Latency statistics kept in the summary (the gate reads p(95); people like p(99)). */
export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** A positive integer from the environment, or the default; a wrong value stops the run. */
export function envInt(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${raw}: expected a positive whole number`);
  return n;
}

/** Seconds from the environment: `90`, `90s`, `1500ms`, `5m`, `1h`; or the default. */
export function envSeconds(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(raw).trim());
  if (!m) throw new Error(`${name}=${raw}: expected a duration such as 90, 90s, 5m or 1h`);
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  const seconds = Number(m[1]) * scale;
  if (!(seconds > 0)) throw new Error(`${name}=${raw}: must be longer than zero`);
  return seconds;
}

/** k6's duration text for a number of seconds. */
export function secs(seconds) {
  return `${Math.round(seconds * 1000) / 1000}s`;
}

/**
 * VUs for an open-model scenario of `rate`/s: enough pre-allocated for answers of 0.5 s, room
 * for 2 s (beyond that k6 counts dropped_iterations, itself a finding). `holdSeconds`: time an
 * iteration spends beyond its request (the duplicate profile's wait before a re-send).
 */
export function vusFor(rate, holdSeconds) {
  const hold = holdSeconds || 0;
  return { preAllocatedVUs: Math.ceil(rate * (0.5 + hold)) + 10, maxVUs: Math.ceil(rate * (2 + hold)) + 50 };
}

/**
 * A constant-arrival-rate scenario: `rate` updates a second for `seconds`, whatever the latency.
 * `extra`: more scenario fields (exec, startTime) and `holdSeconds` (see vusFor).
 * @returns {import('k6/options').ConstantArrivalRateScenario}
 */
export function arrivals(rate, seconds, extra) {
  return Object.assign({ executor: 'constant-arrival-rate', rate: rate, timeUnit: '1s', duration: secs(seconds) },
    vusFor(rate, extra && extra.holdSeconds), strip(extra));
}

function strip(extra) {
  const out = Object.assign({}, extra || {});
  delete out.holdSeconds;
  return out;
}

/** The profile's thresholds from thresholds.json's text (k6 syntax, the same as slo.toml's). */
export function thresholdsFor(all, profile) {
  const t = all[profile];
  if (!t || typeof t !== 'object') throw new Error(`thresholds.json has no "${profile}" profile`);
  return t;
}

/**
 * Options every profile shares. (The JSDoc types are k6's, for editors and type checkers.)
 * @param {string} profile
 * @param {Object<string, import('k6/options').Scenario>} scenarios
 * @param {Object<string, string[]>} thresholds
 * @returns {import('k6/options').Options}
 */
export function baseOptions(profile, scenarios, thresholds) {
  return {
    scenarios: scenarios,
    thresholds: thresholds,
    summaryTrendStats: TREND_STATS,
    userAgent: `sluice-k6/${profile}`,
    tags: { profile: profile },
  };
}

/** Run-wide facts computed once by setup() and handed to every iteration. */
export function setupRun(profile, plan) {
  let idBase = updateIdBase(Date.now());
  if (__ENV.SLUICE_ID_BASE) {
    idBase = Number(__ENV.SLUICE_ID_BASE);
    if (!Number.isSafeInteger(idBase)) throw new Error(`SLUICE_ID_BASE=${__ENV.SLUICE_ID_BASE}: not a whole number below 2^53`);
  }
  console.log(`sluice ${profile}: ${plan.shape} -> ${TARGET} (update_id from ${idBase})`);
  return { profile: profile, target: TARGET, plan: plan, idBase: idBase };
}

/**
 * This iteration's update_id: scenario `exec.scenario.name`'s iteration number, interleaved
 * with the other scenarios of `names`, from the run's base: unique within the run.
 */
export function nextUpdateId(data, names) {
  const slot = names.indexOf(exec.scenario.name);
  if (slot < 0) throw new Error(`scenario ${exec.scenario.name} is not one of ${names.join(', ')}`);
  return updateIdOf(data.idBase, exec.scenario.iterationInTest, slot, names.length);
}

/** handleSummary: the JSON summary (for `sluice-load gate --summary`) and the text one on stdout. */
export function summaryWriter(profile) {
  return function handleSummary(data) {
    const path = __ENV.SLUICE_SUMMARY || `k6-summary-${profile}.json`;
    data.sluice = { profile: profile, target: TARGET, plan: data.setup_data ? data.setup_data.plan : null };
    const out = { stdout: `${textSummary(data, { indent: ' ', enableColors: true })}\nsummary written to ${path}\n` };
    out[path] = JSON.stringify(data);
    return out;
  };
}
