// Starts Bluesky's reference network (PLC directory, PDS, AppView) with @atproto/dev-env's
// TestNetwork, prints its URLs as one JSON line on stdout when ready, and closes it on SIGTERM.
// Run by tests/real/bluesky.py as:
//   node --require ./loopback.cjs start.mjs
// with TWOWAY_BLUESKY_MODULES (the node_modules folder .ci/real-bluesky.sh installed),
// DB_POSTGRES_URL and REDIS_HOST in the environment.
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const modules = process.env.TWOWAY_BLUESKY_MODULES
if (!modules) throw new Error('TWOWAY_BLUESKY_MODULES is not set')
const { TestNetwork } = await import(
  pathToFileURL(join(modules, '@atproto/dev-env/dist/index.js')).href
)

// dev-env's own logging goes to stderr; stdout carries only the JSON line
console.log = console.error

const network = await TestNetwork.create({
  dbPostgresSchema: 'twoway',
  pds: { hostname: 'localhost' },
})

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', close)
process.on('SIGINT', close)

process.stdout.write(
  JSON.stringify({
    plc: network.plc.url,
    pds: network.pds.url,
    appview: network.bsky.url,
    pid: process.pid,
  }) + '\n',
)
