// ramp.js: sluice's `ramp` load profile for k6: a thundering herd of 1000 senders, one update
// each, all due at t=0, with 100 updates/s from t=0 for 30 s behind it (realistic traffic of
// lib/traffic.js). The herd is 1000 VUs doing one iteration each (per-vu-iterations): k6 starts
// them together once all are initialised, which an arrival-rate executor cannot do.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/ramp.js
//   sluice-load gate --profile ramp --summary k6-summary-ramp.json
// Overrides: SLUICE_HERD (1000 senders; each is a VU, so k6 needs memory for them),
// SLUICE_RATE (updates/s after the herd, 100), SLUICE_DURATION (30s), SLUICE_TARGET.
// Thresholds: thresholds.json's "ramp" entry (k6's part of loadtests/slo.toml). sluice's
// per-chat limit must admit the herd's busiest chats (~27 updates at once), e.g.
// SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100: a 429 is a failure in this profile.

import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, secs, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { checkAccepted, send } from './lib/send.js';
import { Traffic } from './lib/traffic.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'ramp';
const HERD = envInt('SLUICE_HERD', 1000);
const RATE = envInt('SLUICE_RATE', 100);
const DURATION = envSeconds('SLUICE_DURATION', 30);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['herd', 'steady'];

export const options = baseOptions(PROFILE, {
  herd: { executor: 'per-vu-iterations', vus: HERD, iterations: 1, maxDuration: secs(DURATION) },
  steady: arrivals(RATE, DURATION),
}, thresholdsFor(THRESHOLDS, PROFILE));

const traffic = new Traffic(BOTS, modelPart('mixed', () => open('./lib/model.generated.json')));

export function setup() {
  return setupRun(PROFILE, { shape: `${HERD} updates at t=0, then ${RATE}/s for ${DURATION} s`, herd: HERD, rate: RATE,
    duration_s: DURATION, bots: BOTS.length });
}

export default function (data) {
  const update = traffic.next(nextUpdateId(data, SCENARIOS));
  checkAccepted(send(update));
}

export const handleSummary = summaryWriter(PROFILE);
