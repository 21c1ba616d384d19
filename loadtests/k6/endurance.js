// endurance.js: sluice's `endurance` load profile for k6: 150 updates/s for 30 min, open model
// (arrivals do not wait for answers), the Rust traffic model's updates (lib/traffic.js, lib/model.js)
// over every bot of the bots file.
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

import { botsPath } from './lib/bots.js';
import { constantRate } from './lib/constant.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'endurance';
const profile = constantRate(PROFILE, 150, 30 * 60, open(botsPath()), botsPath(), open('./thresholds.json'),
  modelPart('mixed', () => open('./lib/model.generated.json')));

export const options = profile.options;
export const setup = profile.setup;
export default profile.run;
export const handleSummary = profile.handleSummary;
