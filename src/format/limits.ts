/**
 * The size limit the writer and the verifier share (FORMAT.md §3.1): whatever the
 * writer signs, a verifier with the default limit reads. Defined once, here.
 */

/**
 * 64 MiB: the longest record line, in bytes without its `\n`. A verifier holds one
 * line in memory at a time, so this bounds its memory too; the transport's largest
 * torn region (FORMAT.md §5.2) is the same size.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024

/**
 * Room left in a line for the chain member and its joiner (`,"chain":{...}}`, about
 * 300 bytes with a 16-digit seq; 1 KiB leaves a margin for later versions of M).
 */
export const CHAIN_MEMBER_ROOM = 1024

/** The longest body B the writer signs as it is; a longer one is wrapped for size. */
export const MAX_BODY_BYTES = MAX_LINE_BYTES - CHAIN_MEMBER_ROOM

/** The start of an oversized line kept in its wrapper, at most this many UTF-8 bytes. */
export const OVERSIZE_HEAD_BYTES = 1024
