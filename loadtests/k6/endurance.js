// endurance.js: sluice's `endurance` load profile for k6: 150 updates/s for 30 min, open model
// (arrivals do not wait for answers), realistic traffic of lib/traffic.js over every bot of the
// bots file.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/endurance.js
//   sluice-load gate --profile endurance --summary k6-summary-endurance.json
// Overrides: SLUICE_RATE (updates/s, 150), SLUICE_DURATION (30m), SLUICE_TARGET.
// Thresholds: thresholds.json's "endurance" entry (k6's part of loadtests/slo.toml). sluice's
// per-chat limit must admit the model's busiest chats (~4 updates/s here), e.g.
// SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100: a 429 is a failure in this profile.
// Memory drift (the api's RSS, Redis used_memory per update: api_rss_growth and
// redis_bytes_per_update in slo.toml) is out of k6's sight: `sluice-load run --profile endurance`
// samples both every second; for this k6 run the gate prints those checks as SKIP (not measured)
// and judges latency and failures.

import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { checkAccepted, send } from './lib/send.js';
import { Traffic } from './lib/traffic.js';

const PROFILE = 'endurance';
const RATE = envInt('SLUICE_RATE', 150);
const DURATION = envSeconds('SLUICE_DURATION', 30 * 60);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['endurance'];

export const options = baseOptions(PROFILE, { endurance: arrivals(RATE, DURATION) }, thresholdsFor(THRESHOLDS, PROFILE));

const traffic = new Traffic(BOTS);

export function setup() {
  return setupRun(PROFILE, { shape: `${RATE}/s for ${DURATION} s`, rate: RATE, duration_s: DURATION, bots: BOTS.length });
}

export default function (data) {
  const update = traffic.next(nextUpdateId(data, SCENARIOS));
  checkAccepted(send(update));
}

export const handleSummary = summaryWriter(PROFILE);
