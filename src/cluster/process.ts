import { register } from 'prom-client'
import type { Config } from '../config.js'
import type { DatabaseHandle } from '../db/database.js'
import type { RuntimeOptions } from '../runtime.js'
import { coherentHandle } from './coherence.js'
import type { PrimaryChannel } from './ipc.js'

/** What every cluster process does on its channel: cache announcements and metric requests. */
export function joinCluster(channel: PrimaryChannel): Pick<RuntimeOptions, 'wrapDatabase'> {
  channel.on('metrics.collect', (msg) => {
    void register.getMetricsAsJSON().then(
      (metrics) => channel.send({ fd: 'metrics.json', id: msg.id, metrics }),
      () => channel.send({ fd: 'metrics.json', id: msg.id, metrics: [] }),
    )
  })
  let changedElsewhere = () => undefined as void
  channel.on('cache.changed', (msg) => {
    changedElsewhere()
    channel.send({ fd: 'cache.ack', id: msg.id })
  })
  return {
    wrapDatabase: (database: DatabaseHandle) => {
      const c = coherentHandle(database, async () => {
        await channel.request((id) => ({ fd: 'cache.changed', id }), 1000)
      })
      changedElsewhere = c.changedElsewhere
      return c.handle
    },
  }
}

export function describeJobs(config: Config): string {
  return config.redisUrl ? 'on BullMQ (run npm run worker)' : 'in-process (its own process)'
}
