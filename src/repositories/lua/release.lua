-- Takes a packet back from its registrar for a new draw that excludes him (his recusal, or an administrator
-- setting him away or removing him). args.registrarStatus '' means free, unless he asked to go away afterwards.
local packet_key, registrar_key, ready_key, exclusions_key, protocol_key, head_key, wake_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local refusal = holder_refusal(packet_key, head_key)
if refusal then return refusal end
redis.call('HSET', packet_key, 'status', 'ready', 'queuedFor', args.queuedFor, 'previousSeq', args.entry.seq)
redis.call('HDEL', packet_key, 'registrarId', 'assignedAt', 'drawSeq', 'waited')
redis.call('HSET', exclusions_key, args.registrarId, args.exclusion)
redis.call('ZADD', ready_key, args.score, args.packetId)
local registrar_status = args.registrarStatus
if registrar_status == '' then
  registrar_status = redis.call('HGET', registrar_key, 'awayAfter') == '1' and 'away' or 'free'
end
redis.call('HSET', registrar_key, 'status', registrar_status)
redis.call('HDEL', registrar_key, 'packetId', 'awayAfter')
-- A recusal: out of every draw until the cooldown ends, and out of the packets waiting now (the entry lists them).
-- Their exclusion hashes come as arguments, their number varying: fine on the one Redis the service runs on.
if args.cooldownUntil ~= '' then redis.call('HSET', registrar_key, 'cooldownUntil', args.cooldownUntil) end
for _, key in ipairs(args.alsoExcludedKeys) do redis.call('HSETNX', key, args.registrarId, args.exclusion) end
append_entry(protocol_key, head_key, args.entry)
wake(wake_key, 'released')
return 'ok'
