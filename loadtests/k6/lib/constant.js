// constant.js: the one shape steady, peak and endurance share: a constant arrival rate of mixed
// traffic over every bot of the bots file. Each of those scripts names its profile, its default
// rate and duration, and reads its files (k6's open() resolves paths from the calling script).

import { parseBots } from './bots.js';
import { arrivals, baseOptions, envInt, envSeconds, nextUpdateId, setupRun, summaryWriter, thresholdsFor } from './profile.js';
import { checkAccepted, send } from './send.js';
import { Traffic } from './traffic.js';

// { options, setup, run, handleSummary } of a constant-rate profile; SLUICE_RATE and
// SLUICE_DURATION override the defaults. `mixed`: the model's updates (lib/model.js).
export function constantRate(profile, defaultRate, defaultSeconds, botsText, botsSource, thresholdsText, mixed) {
  const rate = envInt('SLUICE_RATE', defaultRate);
  const duration = envSeconds('SLUICE_DURATION', defaultSeconds);
  const bots = parseBots(botsText, botsSource);
  const scenarios = [profile];
  const traffic = new Traffic(bots, mixed);
  return {
    options: baseOptions(profile, { [profile]: arrivals(rate, duration) }, thresholdsFor(JSON.parse(thresholdsText), profile)),
    setup() {
      return setupRun(profile, { shape: `${rate}/s for ${duration} s`, rate, duration_s: duration, bots: bots.length });
    },
    run(data) {
      checkAccepted(send(traffic.next(nextUpdateId(data, scenarios))));
    },
    handleSummary: summaryWriter(profile),
  };
}
