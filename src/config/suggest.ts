/** "Did you mean …?" for a mistyped policy key: the closest known key by edit distance. */

// Levenshtein distance, two rows (keys are short; no library needed for this).
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]
}

/** The known key closest to `key`, if it is close enough to be a typo of it. */
export function closestKey (key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate)
    if (d < bestDistance) { best = candidate; bestDistance = d }
  }
  // A third of the key's length (at least 2): catches dropped, doubled and swapped
  // letters without suggesting unrelated keys.
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined
}
