-- Opens a packet; a resubmission also marks the earlier packet as resubmitted, so one decided packet has at most one
-- resubmission and a chain of them stays a line (whose deciders the resubmission policy uses).
local packet_key, tracking_key, packets_key, station_packets_key, active_key, earlier_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
if args.earlierId ~= '' then
  if redis.call('HGET', earlier_key, 'resubmittedBy') then return 'already_resubmitted' end
  redis.call('HSET', earlier_key, 'resubmittedBy', args.packetId)
end
for field, value in pairs(args.fields) do redis.call('HSET', packet_key, field, value) end
redis.call('SET', tracking_key, args.packetId)
redis.call('ZADD', packets_key, args.score, args.packetId)
redis.call('ZADD', station_packets_key, args.score, args.packetId)
redis.call('ZADD', active_key, args.score, args.packetId)
return 'ok'
