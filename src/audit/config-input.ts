/**
 * The `config` option of createAuditLogger: a policy file path, a loaded
 * AuditConfig, or nothing (the defaults). An object is checked here because it
 * may have been built by hand rather than by loadAuditConfig().
 */
import { loadAuditConfig, parseAuditPolicy } from '../config/load.js'
import type { AlertThreshold, AuditConfig } from '../config/types.js'
import { Validator } from './validate.js'
import { AUDIT_EVENTS, DETAIL_LEVELS, RISK_LEVELS } from './vocabulary.js'

const CONFIG_KEYS = ['source', 'hashChainEnabled', 'logLevel', 'storageLocation', 'perProcess', 'retentionPeriodMs', 'rotation', 'privateKeyPath', 'epochKeysPath', 'maxFieldBytes', 'alertThresholds']
const THRESHOLD_KEYS = ['name', 'event', 'count', 'windowMs', 'window', 'riskLevel']

function checkConfigObject (value: unknown): AuditConfig {
  const v = new Validator('createAuditLogger')
  const c = v.object('config', value, CONFIG_KEYS)
  const thresholds = v.array('config.alertThresholds', c.alertThresholds).map((t, i): AlertThreshold => {
    const at = `config.alertThresholds[${i}]`
    const o = v.object(at, t, THRESHOLD_KEYS)
    const threshold: AlertThreshold = {
      name: v.string(`${at}.name`, o.name),
      event: v.oneOf(`${at}.event`, o.event, AUDIT_EVENTS),
      count: v.number(`${at}.count`, o.count, { integer: true, min: 1 }),
      windowMs: v.number(`${at}.windowMs`, o.windowMs, { min: 0, above: true }),
      window: v.string(`${at}.window`, o.window)
    }
    if (o.riskLevel !== undefined) threshold.riskLevel = v.oneOf(`${at}.riskLevel`, o.riskLevel, RISK_LEVELS)
    return threshold
  })
  if (c.hashChainEnabled === undefined) throw v.typeError('config.hashChainEnabled', 'a boolean', undefined)
  return {
    ...(c as unknown as AuditConfig),
    hashChainEnabled: v.boolean('config.hashChainEnabled', c.hashChainEnabled) as boolean,
    logLevel: v.oneOf('config.logLevel', c.logLevel, DETAIL_LEVELS),
    storageLocation: v.string('config.storageLocation', c.storageLocation),
    perProcess: c.perProcess === undefined ? false : v.boolean('config.perProcess', c.perProcess) as boolean,
    maxFieldBytes: v.number('config.maxFieldBytes', c.maxFieldBytes, { integer: true, min: 1 }),
    privateKeyPath: v.optionalString('config.privateKeyPath', c.privateKeyPath),
    epochKeysPath: v.optionalString('config.epochKeysPath', c.epochKeysPath),
    alertThresholds: thresholds
  }
}

export function resolveConfig (config: string | AuditConfig | undefined): AuditConfig {
  if (config === undefined) return parseAuditPolicy({})
  if (typeof config === 'string') return loadAuditConfig(config)
  return checkConfigObject(config)
}
