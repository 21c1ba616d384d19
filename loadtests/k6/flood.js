// flood.js: sluice's `flood` load profile for k6: one bot, 50 quiet chats at 1 update/s each
// (50/s in all) and one supergroup flooding at 100 updates/s, for 30 s (open model). sluice's
// per-chat limit must refuse most of the flood (429 + Retry-After) and none of the quiet chats.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/flood.js
//   sluice-load gate --profile flood --summary k6-summary-flood.json
// Overrides: SLUICE_RATE (the flooding chat's updates/s, 100), SLUICE_QUIET_CHATS (50),
// SLUICE_DURATION (30s), SLUICE_TARGET. All updates go to the first bot of the bots file and come
// from the Rust traffic model's flood streams (lib/model.js: `quiet`, one private chat each, text
// messages; `flooding`, one supergroup, mentions of the bot): the normal lane, whose chat policy
// is `reject`. The model exports 100 quiet chats.
// sluice's per-chat limit must sit between the two rates, e.g. SLUICE_RATE_CHAT_PER_MIN=600
// SLUICE_RATE_CHAT_BURST=60 (the default 20/min would refuse the quiet chats too).
// Thresholds: thresholds.json's "flood" entry, with this script's two Rate metrics:
//   flood_quiet_ok  share of the quiet chats' updates answered 2xx
//   flood_limited   share of the flooding chat's updates answered 429
// Failures (http_req_failed): a 429 is expected for the flooding chat only (set per request);
// for a quiet chat it is a failure, like any status outside 2xx.

import exec from 'k6/execution';
import { Rate } from 'k6/metrics';
import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { modelPart } from './lib/model.js';
import { accepted, checkAccepted, checkAcceptedOrLimited, send } from './lib/send.js';
import { update } from './lib/traffic.js';

const PROFILE = 'flood';
const FLOOD_RATE = envInt('SLUICE_RATE', 100);
const QUIET_CHATS = envInt('SLUICE_QUIET_CHATS', 50);
const DURATION = envSeconds('SLUICE_DURATION', 30);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['quiet', 'flood'];

export const options = baseOptions(PROFILE, {
  // QUIET_CHATS arrivals a second, taken by the chats in turn: each chat exactly 1/s.
  quiet: arrivals(QUIET_CHATS, DURATION, { exec: 'quiet' }),
  flood: arrivals(FLOOD_RATE, DURATION, { exec: 'flood' }),
}, thresholdsFor(THRESHOLDS, PROFILE));

const quietOk = new Rate('flood_quiet_ok');
const limited = new Rate('flood_limited');

const BOT = BOTS[0];
// One update per quiet chat; the flooding chat is a supergroup (a spam wave).
const QUIET = modelPart('quiet', () => open('./lib/model.generated.json'));
const FLOODING = modelPart('flooding', () => open('./lib/model.generated.json'));
if (QUIET_CHATS > QUIET.length) {
  throw new Error(`SLUICE_QUIET_CHATS=${QUIET_CHATS}: the traffic model exports ${QUIET.length} quiet chats`);
}

export function setup() {
  const shape = `bot ${BOT.name}: ${QUIET_CHATS} quiet chats at 1/s each, `
    + `one chat (${FLOODING[0].chat}) at ${FLOOD_RATE}/s, for ${DURATION} s`;
  return setupRun(PROFILE, { shape: shape, rate: QUIET_CHATS + FLOOD_RATE, flood_rate: FLOOD_RATE, quiet_chats: QUIET_CHATS,
    duration_s: DURATION, bots: 1 });
}

export function quiet(data) {
  const chat = QUIET[exec.scenario.iterationInTest % QUIET_CHATS];
  const res = send(update(BOT, chat, nextUpdateId(data, SCENARIOS)), { tags: { chat: 'quiet' } });
  quietOk.add(accepted(res));
  checkAccepted(res, { chat: 'quiet' });
}

export function flood(data) {
  const flooding = FLOODING[exec.scenario.iterationInTest % FLOODING.length];
  const res = send(update(BOT, flooding, nextUpdateId(data, SCENARIOS)),
    { expect: 'limited', tags: { chat: 'flooding' } });
  limited.add(res.status === 429);
  checkAcceptedOrLimited(res, { chat: 'flooding' });
}

export const handleSummary = summaryWriter(PROFILE);
