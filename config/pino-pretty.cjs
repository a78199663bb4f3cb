// pino-pretty config file for audit logs (docs/pretty.md):
//   pino-pretty --config node_modules/pino-audit-chain/config/pino-pretty.cjs < audit.log
// It is pino-audit-chain/pretty's option set, the one `audit-chain show` uses. CommonJS,
// because pino-pretty loads its config file with require (Node >= 20.19 requires ESM).
'use strict'
module.exports = require('../dist/pretty.js').prettyOptions
