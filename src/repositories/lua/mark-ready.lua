-- The bundle job's last step: processing -> ready, into the ready queue (oldest first), and a wake-up.
local packet_key, ready_key, wake_key = KEYS[1], KEYS[2], KEYS[3]
local status = redis.call('HGET', packet_key, 'status')
if not includes(args.sources, status) then return status or 'missing' end
redis.call('HSET', packet_key, 'status', 'ready', 'readyAt', args.readyAt, 'readyScore', args.score,
  'pdf', args.pdf, 'queuedFor', 'ready')
redis.call('ZADD', ready_key, args.score, args.packetId)
wake(wake_key, 'ready')
return 'ok'
