// peak.js: sluice's `peak` load profile for k6: 300 updates/s for 60 s, open model (arrivals
// do not wait for answers), realistic traffic of lib/traffic.js over every bot of the bots file.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/peak.js
//   sluice-load gate --profile peak --summary k6-summary-peak.json
// Overrides: SLUICE_RATE (updates/s, 300), SLUICE_DURATION (60s), SLUICE_TARGET.
// Thresholds: thresholds.json's "peak" entry (k6's part of loadtests/slo.toml). sluice's
// per-chat limit must admit the model's busiest chats (~8 updates/s here), e.g.
// SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100: a 429 is a failure in this profile.

import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { checkAccepted, send } from './lib/send.js';
import { Traffic } from './lib/traffic.js';

const PROFILE = 'peak';
const RATE = envInt('SLUICE_RATE', 300);
const DURATION = envSeconds('SLUICE_DURATION', 60);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['peak'];

export const options = baseOptions(PROFILE, { peak: arrivals(RATE, DURATION) }, thresholdsFor(THRESHOLDS, PROFILE));

const traffic = new Traffic(BOTS);

export function setup() {
  return setupRun(PROFILE, { shape: `${RATE}/s for ${DURATION} s`, rate: RATE, duration_s: DURATION, bots: BOTS.length });
}

export default function (data) {
  const update = traffic.next(nextUpdateId(data, SCENARIOS));
  checkAccepted(send(update));
}

export const handleSummary = summaryWriter(PROFILE);
