// peak.js: sluice's `peak` load profile for k6: 300 updates/s for 60 s, open model (arrivals
// do not wait for answers), the Rust traffic model's updates (lib/traffic.js, lib/model.js) over
// every bot of the bots file.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/peak.js
//   sluice-load gate --profile peak --summary k6-summary-peak.json
// Overrides: SLUICE_RATE (updates/s, 300), SLUICE_DURATION (60s), SLUICE_TARGET.
// Thresholds: thresholds.json's "peak" entry (k6's part of loadtests/slo.toml). sluice's
// per-chat limit must admit the model's busiest chats (~8 updates/s here), e.g.
// SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100: a 429 is a failure in this profile.

import { botsPath } from './lib/bots.js';
import { constantRate } from './lib/constant.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'peak';
const profile = constantRate(PROFILE, 300, 60, open(botsPath()), botsPath(), open('./thresholds.json'),
  modelPart('mixed', () => open('./lib/model.generated.json')));

export const options = profile.options;
export const setup = profile.setup;
export default profile.run;
export const handleSummary = profile.handleSummary;
