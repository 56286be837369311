-- A draw: the packet is still ready and unassigned, the registrar still free, the protocol head unchanged; then
-- the packet is his, he is busy, and the draw's protocol entry is appended, all at once.
local packet_key, registrar_key, ready_key, protocol_key, head_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if not head_is(head_key, args.expectedHead, args.genesis) then return 'head_moved' end
local status = redis.call('HGET', packet_key, 'status')
if not includes(args.sources, status) or redis.call('HEXISTS', packet_key, 'registrarId') == 1 then
  return 'packet_taken'
end
if redis.call('HGET', registrar_key, 'status') ~= 'free' then return 'registrar_taken' end
redis.call('HSET', packet_key, 'status', 'assigned', 'registrarId', args.registrarId, 'assignedAt', args.at,
  'drawSeq', args.entry.seq)
redis.call('HDEL', packet_key, 'queuedFor', 'waited', 'previousSeq')
redis.call('HSET', registrar_key, 'status', 'busy', 'packetId', args.packetId)
redis.call('ZREM', ready_key, args.packetId)
append_entry(protocol_key, head_key, args.entry)
return 'ok'
