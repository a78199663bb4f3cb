/**
 * `pino-audit-chain/stage`: the pipeline stage. The default export is what pino loads
 * for `pino.transport({ pipeline: [{ target: 'pino-audit-chain/stage', options }, nextStep] })`.
 */
import auditChainStageWorker from './stage/transport.js'

export default auditChainStageWorker
export { auditChainStage, stageTarget, type AuditStageStep } from './stage/step.js'
export type { AuditStageOptions } from './stage/options.js'
