/**
 * Opening files in a directory an attacker may write to (DESIGN.md §0: "the writer
 * never lets the directory redirect it"): no symlink is followed at the last path
 * component, nothing but a regular file owned by this process's user is used, and a
 * directory others could replace files in is refused, as logrotate refuses a
 * directory with "insecure permissions".
 *
 * Only the destination's own directory is checked, not its ancestors: /var/log or
 * /tmp above it are the administrator's to secure.
 */
import { constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, closeSync, renameSync, statSync, statfsSync, unlinkSync, writeSync, type Stats } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { AuditChainError } from '../errors.js'

// Kernel pseudo-filesystems (linux/magic.h): no file created there holds data, and
// Node's recursive mkdir loops forever under /proc (mkdir returns ENOENT below an
// existing directory, so it "creates the parent" and retries, without end).
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts']
])

// A temporary file's name: at most this much of the file's own name, then 22
// characters of dot, random suffix and `.tmp`: 222, under every filesystem's 255.
const TMP_STEM_CHARS = 200

// The sticky bit (inode(7)); node:fs constants do not export it.
const S_ISVTX = 0o1000

/** The user the files must belong to; undefined where there are no uids (Windows). */
function ownUid (): number | undefined {
  return process.geteuid?.()
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0')

function kindOf (stat: Stats): string {
  if (stat.isSymbolicLink()) return 'a symbolic link'
  if (stat.isDirectory()) return 'a directory'
  if (stat.isFIFO()) return 'a FIFO'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice()) return 'a character device'
  if (stat.isBlockDevice()) return 'a block device'
  return 'not a regular file'
}

/** Throws PAC_DESTINATION when `path` (shown as `shown`) lies on a kernel pseudo-filesystem such as /proc. */
function assertRealFilesystem (path: string, what: string, shown = path): void {
  let type: number
  try {
    type = statfsSync(path).type
  } catch {
    return // no statfs here: the open or mkdir that follows reports the problem
  }
  const name = PSEUDO_FILESYSTEMS.get(type)
  if (name !== undefined) {
    throw new AuditChainError('PAC_DESTINATION', `${what} ${shown} is on ${name}, a kernel pseudo-filesystem where files cannot be created or kept: choose a directory on a disk`)
  }
}

/**
 * `mkdir -p` with `mode` for each directory created. Node's own recursive mkdir is not
 * used: it never returns for a path under /proc (see PSEUDO_FILESYSTEMS).
 */
export function makeDirectory (dir: string, mode: number, what = 'directory'): void {
  const missing: string[] = []
  let at = resolve(dir)
  for (;;) {
    try {
      statSync(at)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw err
      missing.unshift(at)
      at = dirname(at)
    }
  }
  if (missing.length === 0) return
  assertRealFilesystem(at, what, dir)
  for (const d of missing) {
    try {
      mkdirSync(d, { mode })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
}

/**
 * Refuse a directory in which another user could plant, replace or remove the files
 * the writer uses: one owned by a user other than this process's (or root), or one
 * writable by group or others without the sticky bit. With the sticky bit (like /tmp,
 * 1777) others cannot rename or remove our files, and what they can plant there is
 * refused by {@link openNoFollow} and {@link assertOwnedRegularFile}.
 */
export function assertSafeDirectory (dir: string, what = 'log directory'): void {
  let stat: Stats
  try {
    stat = statSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new AuditChainError('PAC_DESTINATION', `the ${what} ${dir} cannot be used (${code ?? 'error'})${code === 'ENOENT' ? ': it does not exist; create it or set mkdir: true' : ''}`)
  }
  if (!stat.isDirectory()) throw new AuditChainError('PAC_DESTINATION', `the ${what} ${dir} is ${kindOf(stat)}, not a directory`)
  assertRealFilesystem(dir, `the ${what}`)
  const uid = ownUid()
  if (uid === undefined) return
  if (stat.uid !== uid && stat.uid !== 0) {
    throw new AuditChainError('PAC_INSECURE', `the ${what} ${dir} is owned by uid ${stat.uid}, not by this process's user (uid ${uid}) or root, so its owner could replace the files in it: run "chown ${uid} ${dir}" or choose a directory this user owns`)
  }
  if ((stat.mode & 0o022) !== 0 && (stat.mode & S_ISVTX) === 0) {
    throw new AuditChainError('PAC_INSECURE', `the ${what} ${dir} has mode ${octal(stat.mode)}: group or others can write to it (without the sticky bit), so they could plant, replace or remove files in it: run "chmod go-w ${dir}"`)
  }
}

/** Why an existing file at `path` (described by `stat`, from lstat or fstat) must not be used. */
function refusal (path: string, stat: Stats, what: string): AuditChainError | undefined {
  if (stat.isSymbolicLink()) {
    return new AuditChainError('PAC_INSECURE', `the ${what} ${path} is a symbolic link, which the writer never follows: remove the link ("rm ${path}") and, if the file it points to is yours, move that file there`)
  }
  if (!stat.isFile()) return new AuditChainError('PAC_DESTINATION', `the ${what} ${path} is ${kindOf(stat)}, not a regular file; the writer only writes to regular files: choose another path`)
  const uid = ownUid()
  if (uid !== undefined && stat.uid !== uid) {
    return new AuditChainError('PAC_INSECURE', `the ${what} ${path} is owned by uid ${stat.uid}, not by this process's user (uid ${uid}): another user created it and could still read or change it. Remove it, or if you know where it comes from run "chown ${uid} ${path}" (and "chmod go-w ${path}")`)
  }
  return undefined
}

/** Refuse `path` when it exists and is a symlink, not a regular file, or another user's. Missing is fine. */
export function assertOwnedRegularFile (path: string, what = 'file'): void {
  let stat: Stats
  try {
    stat = lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new AuditChainError('PAC_DESTINATION', `the ${what} ${path} cannot be checked (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const err = refusal(path, stat, what)
  if (err !== undefined) throw err
}

/**
 * open(2) without following a symlink at `path`, and without blocking on a FIFO; the
 * opened file must be a regular file owned by this process's user, or the fd is closed
 * and an AuditChainError thrown. Other open errors (ENOENT, EACCES, EROFS, EEXIST with
 * O_EXCL) are thrown as they are, for the caller to word.
 */
export function openNoFollow (path: string, flags: number, mode = 0o640, what = 'file'): number {
  let fd: number
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode)
  } catch (err) {
    // ELOOP is how O_NOFOLLOW reports a symlink at the last component.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      let stat: Stats | undefined
      try { stat = lstatSync(path) } catch {}
      if (stat?.isSymbolicLink() === true) throw refusal(path, stat, what) as AuditChainError
    }
    throw err
  }
  let refused: AuditChainError | undefined
  try {
    refused = refusal(path, fstatSync(fd), what)
  } catch (err) {
    closeSync(fd)
    throw err
  }
  if (refused !== undefined) {
    closeSync(fd)
    throw refused
  }
  return fd
}

/**
 * Atomically replace `path` with `text`: write a temporary file beside it, fsync,
 * rename over `path`, fsync the directory (so the rename survives a power cut). The
 * temporary name is unpredictable and created with O_EXCL|O_NOFOLLOW, so nothing
 * planted beside the file can receive what is written or redirect the write. Throws
 * the underlying error (or an AuditChainError refusal) for the caller to word; the
 * temporary file is removed on failure.
 */
export function replaceFile (path: string, text: string, mode: number, what = 'file'): void {
  // The stem is cut so that a long (but legal) name still leaves room for the suffix.
  const tmp = join(dirname(path), `.${basename(path).slice(0, TMP_STEM_CHARS)}.${randomBytes(8).toString('hex')}.tmp`)
  let created = false
  try {
    const fd = openNoFollow(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode, `temporary ${what}`)
    created = true
    try {
      // The umask filters O_CREAT's mode.
      fchmodSync(fd, mode)
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (err) {
    if (created) { try { unlinkSync(tmp) } catch {} }
    throw err
  }
  try {
    const dir = openSync(dirname(path), 'r')
    try { fsyncSync(dir) } finally { closeSync(dir) }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/** True while `fd` is still the file `path` names (not unlinked, moved, or replaced by another file or a link). */
export function stillAtPath (fd: number, path: string): boolean {
  try {
    const atPath = lstatSync(path)
    const open = fstatSync(fd)
    return atPath.ino === open.ino && atPath.dev === open.dev
  } catch {
    return false
  }
}
