-- A registrar's own wish: free or away, with its status entry in the protocol. While he holds a packet, away takes
-- effect when the packet is done (and free cancels that): the entry says so (afterPacket), and when the registrar
-- turned busy or free since it was sealed, it is sealed again ('status_changed').
local registrar_key, wake_key, protocol_key, head_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local status = redis.call('HGET', registrar_key, 'status')
if not status then return 'missing' end
if status == 'removed' then return 'removed' end
if not head_is(head_key, args.expectedHead, args.genesis) then return 'head_moved' end
if (status == 'busy') ~= args.afterPacket then return 'status_changed' end
if status == 'busy' then
  local away_after = redis.call('HGET', registrar_key, 'awayAfter') == '1'
  if (args.status == 'away') == away_after then return 'busy' end
  if args.status == 'away' then
    redis.call('HSET', registrar_key, 'awayAfter', '1')
  else
    redis.call('HDEL', registrar_key, 'awayAfter')
  end
  append_entry(protocol_key, head_key, args.entry)
  return 'busy'
end
if status == args.status then return status end
redis.call('HSET', registrar_key, 'status', args.status)
append_entry(protocol_key, head_key, args.entry)
if args.status == 'free' then wake(wake_key, 'registrar_free') end
return args.status
