// Preloaded with `node --require`: every server of the network listens on 127.0.0.1 only.
'use strict'
const net = require('node:net')

const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const first = args[0]
  if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path === undefined) args[0] = { ...first, host: '127.0.0.1' }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, callback])
    const rest = args.slice(1).filter((a) => typeof a !== 'string')
    args = [first, '127.0.0.1', ...rest]
  } else if (first === undefined || typeof first === 'function') {
    args = [0, '127.0.0.1', ...args.filter((a) => a !== undefined)]
  }
  return listen.apply(this, args)
}
