// users.js: sluice's `users` load profile for k6: 100 simulated users of 50 bots for 60 s, each
// acting every 0.5-3 s (closed model: constant-vus, one VU per user, think time between
// actions): normal (a private message or a command, 60 %), mention (@the_bot in a group, 25 %),
// reply (to the bot's message, or an inline-keyboard press, 15 %). The people and their
// behaviour come from the Rust traffic model (lib/users.js, lib/model.js: 100 people).
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/users.js
//   sluice-load gate --profile users --summary k6-summary-users.json
// Overrides: SLUICE_VUS (users, 100), SLUICE_USER_BOTS (bots, the first 50 of the bots file),
// SLUICE_DURATION (60s), SLUICE_TARGET.
// Thresholds: thresholds.json's "users" entry (with checks: 2xx and {"ok":true}); requests are
// tagged with their behaviour. A user's private chat with their favourite bot gets up to ~25
// updates/min, a busy group more: sluice's default per-chat limit (20/min) is too low for these
// fast users, and a 429 is a failure here; e.g. SLUICE_RATE_CHAT_PER_MIN=1200.

import { sleep } from 'k6';
import { botsPath, firstBots, parseBots } from './lib/bots.js';
import { baseOptions, envInt, envSeconds, nextUpdateId, secs, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { checkAccepted, send } from './lib/send.js';
import { THINK_MAX_S, THINK_MIN_S, Users } from './lib/users.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'users';
const VUS = envInt('SLUICE_VUS', 100);
const BOT_COUNT = envInt('SLUICE_USER_BOTS', 50);
const DURATION = envSeconds('SLUICE_DURATION', 60);
const ALL_BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['users'];

export const options = baseOptions(PROFILE, {
  users: { executor: 'constant-vus', vus: VUS, duration: secs(DURATION) },
}, thresholdsFor(THRESHOLDS, PROFILE));

const BOTS = firstBots(ALL_BOTS, BOT_COUNT);
const model = new Users(BOTS, modelPart('people', () => open('./lib/model.generated.json')));
/** This VU's person, made on its first iteration (module state is per VU in k6). */
let person = null;

export function setup() {
  if (BOTS.length < BOT_COUNT) console.warn(`users: the bots file has ${BOTS.length} bots, not ${BOT_COUNT}`);
  return setupRun(PROFILE, { shape: `${VUS} users of ${BOTS.length} bots for ${DURATION} s, acting every ${THINK_MIN_S}-${THINK_MAX_S} s`,
    vus: VUS, duration_s: DURATION, bots: BOTS.length });
}

export default function (data) {
  if (person === null) {
    person = model.person(__VU);
    sleep(Math.random() * THINK_MAX_S); // users do not all start at the same instant
  }
  const action = model.act(person, nextUpdateId(data, SCENARIOS));
  const tags = { behaviour: action.behaviour };
  checkAccepted(send(action, { tags: tags }), tags);
  sleep(model.think());
}

export const handleSummary = summaryWriter(PROFILE);
