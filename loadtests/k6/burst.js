// burst.js: sluice's `burst` load profile for k6: 50 updates/s for 80 s with two 10 s bursts at
// 400/s starting at t=20 s and t=50 s (open model; the Rust traffic model's updates, lib/traffic.js).
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/burst.js
//   sluice-load gate --profile burst --summary k6-summary-burst.json
// Overrides: SLUICE_RATE (base updates/s, 50), SLUICE_BURST_RATE (updates/s during a burst, 400),
// SLUICE_DURATION (80s; the bursts keep their place: they start at 25 % and 62.5 % of the run and
// last 12.5 % of it), SLUICE_TARGET.
// Thresholds: thresholds.json's "burst" entry (k6's part of loadtests/slo.toml). A burst is a
// second scenario on top of the base one (400/s = 50 + 350), so the rate steps at once instead
// of ramping. sluice's per-chat limit must admit the busiest chats (~11 updates/s in a burst,
// for 10 s), e.g. SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100.

import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, secs, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { checkAccepted, send } from './lib/send.js';
import { Traffic } from './lib/traffic.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'burst';
const BASE_RATE = envInt('SLUICE_RATE', 50);
const BURST_RATE = envInt('SLUICE_BURST_RATE', 400);
const DURATION = envSeconds('SLUICE_DURATION', 80);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
if (BURST_RATE <= BASE_RATE) throw new Error(`SLUICE_BURST_RATE (${BURST_RATE}) must exceed SLUICE_RATE (${BASE_RATE})`);

const BURST_STARTS = [0.25 * DURATION, 0.625 * DURATION];
const BURST_LENGTH = 0.125 * DURATION;
const SCENARIOS = ['base', 'burst1', 'burst2'];

function scenarios() {
  const s = { base: arrivals(BASE_RATE, DURATION) };
  BURST_STARTS.forEach((start, i) => {
    s[SCENARIOS[i + 1]] = arrivals(BURST_RATE - BASE_RATE, BURST_LENGTH, { startTime: secs(start) });
  });
  return s;
}

export const options = baseOptions(PROFILE, scenarios(), thresholdsFor(THRESHOLDS, PROFILE));

const traffic = new Traffic(BOTS, modelPart('mixed', () => open('./lib/model.generated.json')));

export function setup() {
  const shape = `${BASE_RATE}/s for ${DURATION} s, ${BURST_RATE}/s for ${BURST_LENGTH} s from t=${BURST_STARTS.join(' s and t=')} s`;
  return setupRun(PROFILE, { shape: shape, rate: BASE_RATE, burst_rate: BURST_RATE, duration_s: DURATION, bots: BOTS.length });
}

export default function (data) {
  const update = traffic.next(nextUpdateId(data, SCENARIOS));
  checkAccepted(send(update));
}

export const handleSummary = summaryWriter(PROFILE);
