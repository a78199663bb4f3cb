/**
 * The policy file's schema (zod). Each schema's error text is the "expected" half
 * of a message; `errors.ts` adds the file, the key path and what was found.
 * Defaults live here, next to the key they belong to.
 *
 * zod is loaded on the first policy read, not at import: an app that only starts the
 * transport (most of them) would otherwise carry its ~7 MB in every process
 * (bench/README.md, "Memory"). createRequire keeps the read synchronous, as
 * createAuditLogger({ config }) is.
 */
import { createRequire } from 'node:module'
import type * as Zod from 'zod'
import { customEventProblem } from '../audit/custom-event.js'
import { AUDIT_EVENTS, DETAIL_LEVELS, RISK_LEVELS } from '../audit/vocabulary.js'
import { parseDuration, parseSize } from './units.js'

export const DEFAULT_STORAGE_LOCATION = './logs/audit'
// 64 KiB: a few thousand lines of code, far more than a record needs to be
// useful, and small enough that one call never stalls the worker's signer.
export const DEFAULT_MAX_FIELD_BYTES = 64 * 1024

const DURATION = 'a duration with a unit, such as "30d", "12h", "5m" or "90s"'
const SIZE = 'a size such as "10MB", "64KB" (1KB = 1024 bytes) or a whole number of bytes'

const require = createRequire(import.meta.url)

function buildSchemas (z: typeof Zod.z) {
  const duration = z.string({ error: DURATION }).transform((text, ctx) => {
    const value = parseDuration(text)
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', message: DURATION, input: text })
      return z.NEVER
    }
    return value
  })

  const size = z.union([z.string(), z.number()], { error: SIZE }).transform((text, ctx) => {
    const value = parseSize(text)
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', message: SIZE, input: text })
      return z.NEVER
    }
    return value
  })

  const path = z.string({ error: 'a path (a string)' }).min(1, { error: 'a non-empty path' })

  const threshold = z.strictObject({
    // A built-in event, or an app's own type as logEvent writes it (checked below).
    event: z.string({ error: `one of ${AUDIT_EVENTS.join(', ')}, or an event type of your own written with logEvent` }).optional(),
    count: z.number({ error: 'a whole number >= 1' }).int({ error: 'a whole number >= 1' }).min(1, { error: 'a whole number >= 1' }),
    window: z.string({ error: DURATION }),
    risk_level: z.enum(RISK_LEVELS, { error: `one of ${RISK_LEVELS.join(', ')}` }).optional()
  }, { error: 'a mapping with count and window (and optionally event, risk_level)' })

  /** The policy document as written in YAML. */
  const policyObject = z.strictObject({
    hash_chain_enabled: z.boolean({ error: 'true or false' }).default(true),
    log_level: z.enum(DETAIL_LEVELS, { error: `one of ${DETAIL_LEVELS.join(', ')}` }).default('standard'),
    storage_location: path.default(DEFAULT_STORAGE_LOCATION),
    retention_period: duration.optional(),
    // For node:cluster / PM2 cluster apps: one chain per process in storage_location (transport option perProcess).
    per_process: z.boolean({ error: 'true or false' }).default(false),
    rotation: z.strictObject({
      // The transport's own lower bounds (src/transport/options.ts), so the message names the policy key.
      max_size: size.refine((v) => v >= 1024, { error: 'a size of at least 1KB, such as "10MB"' }).optional(),
      interval: duration.refine((v) => v >= 1000, { error: 'a duration of at least 1s, such as "1h" or "1d"' }).optional()
    }, { error: 'a mapping with max_size and/or interval' }).optional(),
    signing: z.strictObject({
      private_key_path: path.optional(),
      // Forward security: a bundle of epoch keys from "audit-chain epochs" instead of one key.
      epoch_keys_path: path.optional()
    }, { error: 'a mapping with private_key_path or epoch_keys_path' }).refine((s) => s.private_key_path === undefined || s.epoch_keys_path === undefined, {
      error: 'only one of private_key_path (one key) or epoch_keys_path (a bundle of epoch keys)'
    }).optional(),
    max_field_bytes: size.default(DEFAULT_MAX_FIELD_BYTES),
    alert_thresholds: z.record(z.string(), threshold, { error: 'a mapping of threshold names to { count, window }' }).default({})
  }, { error: 'a mapping of policy keys (hash_chain_enabled, log_level, storage_location, …)' })

  const policySchema = policyObject.superRefine((policy, ctx) => {
    // Cross-field rules a per-key schema cannot express.
    for (const [name, t] of Object.entries(policy.alert_thresholds)) {
      const event = t.event ?? ((AUDIT_EVENTS as readonly string[]).includes(name) ? name : undefined)
      const custom = event !== undefined && !(AUDIT_EVENTS as readonly string[]).includes(event) ? customEventProblem(event) : undefined
      if (event === undefined) {
        ctx.addIssue({ code: 'custom', path: ['alert_thresholds', name, 'event'], message: `one of ${AUDIT_EVENTS.join(', ')}, or an event type of your own written with logEvent (required because the threshold name "${name}" is not a built-in event name)` })
      } else if (custom !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['alert_thresholds', name, 'event'], message: `one of ${AUDIT_EVENTS.join(', ')}, or an event type of your own: ${custom}` })
      } else if (t.risk_level !== undefined && event !== 'security_assessment') {
        ctx.addIssue({ code: 'custom', path: ['alert_thresholds', name, 'risk_level'], message: 'no risk_level: it only applies to security_assessment thresholds' })
      }
      if (parseDuration(t.window) === undefined) {
        ctx.addIssue({ code: 'custom', path: ['alert_thresholds', name, 'window'], message: DURATION })
      }
    }
  })
  return { policyObject, policySchema }
}

type Schemas = ReturnType<typeof buildSchemas>
let schemas: Schemas | undefined

/** The policy schema, built on first use. */
export function policySchema (): Schemas['policySchema'] {
  schemas ??= buildSchemas((require('zod') as typeof Zod).z)
  return schemas.policySchema
}

/** The keys the schema knows at each level, for "did you mean" suggestions. */
export function knownKeys (): Readonly<Record<string, readonly string[]>> {
  policySchema()
  return {
    '': Object.keys((schemas as Schemas).policyObject.shape),
    rotation: ['max_size', 'interval'],
    signing: ['private_key_path', 'epoch_keys_path'],
    'alert_thresholds.*': ['event', 'count', 'window', 'risk_level']
  }
}

export type PolicyDocument = Zod.input<Schemas['policySchema']>
export type ParsedPolicy = Zod.output<Schemas['policySchema']>
