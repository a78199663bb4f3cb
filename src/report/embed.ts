/**
 * Log content inside the report page's <script type="application/json"> data block.
 * The characters that could end the block (`</script`, `<!--`) or read as a line end
 * to an old JavaScript parser (U+2028, U+2029) are written as JSON escapes: they mean
 * the same to JSON.parse and nothing to the HTML parser. `&` too, so no entity forms.
 */
const UNSAFE_IN_SCRIPT = /[<>&\u2028\u2029]/g

/** JSON text safe to place inside <script type="application/json">. */
export function embedJson (value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_SCRIPT, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
