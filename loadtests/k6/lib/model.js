// lib/model.js: the Rust traffic model's fixture, lib/model.generated.json, as k6 SharedArrays:
// read and parsed once, then shared by every VU (each VU has its own copy of the scripts, and
// the file is about 1 MB). `sluice-load traffic export` writes the file from loadtests/src/traffic;
// it is checked in, and loadtests/tests/traffic_fixtures.rs fails when it is stale.
//
// Parts: `mixed` (the model's traffic), `quiet` (one update per quiet chat of the flood
// profile), `flooding` (the flooding chat's), `people` (the users profile's people). Each entry:
// {kind, field, lane, chat, user, rest[, behaviour]}; lib/traffic.js turns one into a request.

import { SharedArray } from 'k6/data';

/**
 * One part of the fixture. `read` opens it, written in the profile script so that open()
 * resolves the path from there: `modelPart('mixed', () => open('./lib/model.generated.json'))`.
 */
export function modelPart(part, read) {
  return new SharedArray(`traffic model: ${part}`, function () {
    const model = JSON.parse(read());
    if (!Array.isArray(model[part]) || model[part].length === 0) {
      throw new Error(`lib/model.generated.json has no "${part}": regenerate it with sluice-load traffic export`);
    }
    return model[part];
  });
}
