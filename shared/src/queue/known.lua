-- Whether a delivery was queued already (the refusal path's duplicate check): its key in the
-- lane-independent namespace, or in any lane's apalis idempotency set.
--
-- ARGV[1] the dedup key, ARGV[2] "1": rewrite the claim's expiry unchanged so a WAIT that
-- follows covers the original job (see push.lua), ARGV[3] the namespace, ARGV[4..] the apalis
-- idempotency sets of every lane (none when SLUICE_DEDUP_LANE_KEYS is off)
-- Returns 1 known, 0 not.

for i = 3, #ARGV do
    local name = ARGV[i] .. ":" .. ARGV[1]
    local left = redis.call("pttl", name)
    if left ~= -2 then
        if ARGV[2] == "1" and left > 0 then
            redis.call("pexpire", name, left)
        end
        return 1
    end
end
return 0
