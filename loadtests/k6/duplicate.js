// duplicate.js: sluice's `duplicate` load profile for k6: 100 updates/s for 60 s (open model,
// the Rust traffic model's updates, lib/traffic.js), of which 20 % are delivered a second time,
// as Telegram re-delivers after a timeout: 1 in 20 of those re-sends races the original (both at once),
// the others follow it 0-5 s after it was sent. Every delivery, re-sends included, must be
// answered 2xx; a re-send answered {"ok":true,"duplicate":true}.
//
// Run (sluice-api up, bots registered; see lib/profile.js for every variable):
//   sluice-load setup --bots 50 --out "$PWD/bots.json"
//   SLUICE_BOTS="$PWD/bots.json" k6 run loadtests/k6/duplicate.js
//   sluice-load gate --profile duplicate --summary k6-summary-duplicate.json
// Overrides: SLUICE_RATE (original updates/s, 100), SLUICE_DURATION (60s), SLUICE_TARGET.
// Thresholds: thresholds.json's "duplicate" entry (k6's part of loadtests/slo.toml). Also
// reported, not judged: duplicate_recognised (re-sends of an accepted update answered
// "duplicate"), duplicate_pair_one_new (racing pairs where exactly one was new) and the
// answers_duplicate counter. sluice's per-chat limit must admit the busiest chats, e.g.
// SLUICE_RATE_CHAT_PER_MIN=1200 SLUICE_RATE_CHAT_BURST=100 (a re-send is counted by the limiter
// before the duplicate is recognised).

import { sleep } from 'k6';
import { Rate } from 'k6/metrics';
import { botsPath, parseBots } from './lib/bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, setupRun, summaryWriter, thresholdsFor } from './lib/profile.js';
import { accepted, checkAccepted, duplicateAnswer, send, sendTwice } from './lib/send.js';
import { Traffic } from './lib/traffic.js';
import { modelPart } from './lib/model.js';

const PROFILE = 'duplicate';
const RATE = envInt('SLUICE_RATE', 100);
const DURATION = envSeconds('SLUICE_DURATION', 60);
const BOTS = parseBots(open(botsPath()), botsPath());
const THRESHOLDS = JSON.parse(open('./thresholds.json'));
const SCENARIOS = ['duplicate'];

/** Share of updates delivered twice. */
const RESEND_SHARE = 0.2;
/** Share of those re-sends that race the original instead of following it. */
const CONCURRENT_SHARE = 0.05;
/** A later re-send leaves up to this long after the original was sent. */
const MAX_DELAY_S = 5;

export const options = baseOptions(PROFILE,
  // An iteration that re-sends waits for it: 19 % of iterations hold their VU ~2.5 s more.
  { duplicate: arrivals(RATE, DURATION, { holdSeconds: 1 }) },
  thresholdsFor(THRESHOLDS, PROFILE));

const recognised = new Rate('duplicate_recognised');
const pairOneNew = new Rate('duplicate_pair_one_new');
const traffic = new Traffic(BOTS, modelPart('mixed', () => open('./lib/model.generated.json')));

export function setup() {
  const shape = `${RATE}/s for ${DURATION} s, ${RESEND_SHARE * 100} % re-sent `
    + `(${CONCURRENT_SHARE * 100} % of those concurrently, the rest 0-${MAX_DELAY_S} s later)`;
  return setupRun(PROFILE, { shape: shape, rate: RATE, duration_s: DURATION, resend_share: RESEND_SHARE,
    bots: BOTS.length });
}

export default function (data) {
  const update = traffic.next(nextUpdateId(data, SCENARIOS));
  const r = Math.random();
  if (r < RESEND_SHARE * CONCURRENT_SHARE) {
    const pair = sendTwice(update, { tags: { resend: 'concurrent' } });
    checkAccepted(pair[0]);
    checkAccepted(pair[1]);
    if (accepted(pair[0]) && accepted(pair[1])) pairOneNew.add(duplicateAnswer(pair[0]) !== duplicateAnswer(pair[1]));
    return;
  }
  const sentAt = Date.now();
  const original = send(update);
  checkAccepted(original);
  if (r >= RESEND_SHARE) return;
  const wait = Math.random() * MAX_DELAY_S - (Date.now() - sentAt) / 1000;
  if (wait > 0) sleep(wait);
  const again = send(update, { tags: { resend: 'later' } });
  checkAccepted(again);
  if (accepted(original)) recognised.add(duplicateAnswer(again));
}

export const handleSummary = summaryWriter(PROFILE);
