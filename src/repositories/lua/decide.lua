-- A decision by the registrar who holds the packet; he is free again (or away, if he asked), and it is logged.
local packet_key, registrar_key, protocol_key, head_key, wake_key, active_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local refusal = holder_refusal(packet_key, head_key)
if refusal then return refusal end
redis.call('HSET', packet_key, 'status', 'decided', 'outcome', args.outcome, 'decidedAt', args.at)
if args.note ~= '' then redis.call('HSET', packet_key, 'note', args.note) end
local next_status = redis.call('HGET', registrar_key, 'awayAfter') == '1' and 'away' or 'free'
redis.call('HSET', registrar_key, 'status', next_status)
redis.call('HDEL', registrar_key, 'packetId', 'awayAfter')
redis.call('ZREM', active_key, args.packetId)
append_entry(protocol_key, head_key, args.entry)
if next_status == 'free' then wake(wake_key, 'registrar_free') end
return 'ok'
