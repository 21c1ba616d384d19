// lib/bots.js: the bots a run posts to, from the file `sluice-load setup --bots N --out bots.json`
// writes: [{"name": "load-<run>-<i>", "secret": "..."}, ...], registered in sluice's Postgres.
//
// k6's open() works only in the init context and resolves a relative path from the directory of
// the script that calls it, so each profile script reads the file itself:
//   const BOTS = parseBots(open(botsPath()), botsPath());
// and a relative SLUICE_BOTS is taken from loadtests/k6/ (pass an absolute path to be safe).
// Pure JavaScript, no k6 imports.

const SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const NAME = /^[A-Za-z0-9._~-]{1,128}$/;

/** Where the bots file is: SLUICE_BOTS, or bots.json beside the scripts. */
export function botsPath(env) {
  const e = env || (typeof __ENV === 'undefined' ? {} : __ENV);
  return e.SLUICE_BOTS || './bots.json';
}

/** The bots of the file's text, checked: a clear error instead of a run full of 401s and 404s. */
export function parseBots(text, source) {
  const where = source || 'the bots file';
  let bots;
  try {
    bots = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${e.message}); write it with sluice-load setup --bots N --out FILE`);
  }
  if (!Array.isArray(bots) || bots.length === 0) {
    throw new Error(`${where}: expected a non-empty array of {"name", "secret"}`);
  }
  const seen = {};
  bots.forEach((bot, i) => {
    if (!bot || typeof bot.name !== 'string' || !NAME.test(bot.name)) {
      throw new Error(`${where}: bot ${i} has no usable "name" (a URL path segment)`);
    }
    if (typeof bot.secret !== 'string' || !SECRET.test(bot.secret)) {
      throw new Error(`${where}: bot ${bot.name} has no usable "secret" (1-256 of A-Z a-z 0-9 _ -)`);
    }
    if (seen[bot.name]) throw new Error(`${where}: bot ${bot.name} is listed twice`);
    seen[bot.name] = true;
  });
  return bots.map((bot) => ({ name: bot.name, secret: bot.secret }));
}

/** The first `n` bots (all of them when the file has fewer, which the caller may report). */
export function firstBots(bots, n) {
  return bots.slice(0, Math.max(1, n));
}
