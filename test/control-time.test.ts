/**
 * The rule of FORMAT.md §5.8, value by value: the time of the writer's own records.
 * (test/pretty.test.ts checks it end to end, on logs written by real apps.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CLOCK_FOLLOW_MS as F, controlTime, firstRecordTime, recordTime } from '../src/format/control-time.js'

const now = 1_764_100_800_000

test('a control record follows the record before it up to a minute ahead of the writer\'s clock, and no further', () => {
  assert.equal(controlTime(now, undefined), now, 'no time before it: the writer\'s clock')
  assert.equal(controlTime(now, now - 5000), now, 'an earlier record: the writer\'s clock')
  assert.equal(controlTime(now, now + 1), now + 1)
  assert.equal(controlTime(now, now + F), now + F)
  assert.equal(controlTime(now, now + F + 1), now, 'a clock more than a minute ahead is not followed')
})

test('a writer\'s first record is no later than the first line, unless that line is over a minute older than the start', () => {
  assert.equal(firstRecordTime(now, undefined, undefined), now, 'written for another reason than a line: the start')
  assert.equal(firstRecordTime(now, undefined, now + 300), now, 'a line after the start: the start')
  assert.equal(firstRecordTime(now, undefined, now - 300), now - 300, 'the app logged before the writer started')
  assert.equal(firstRecordTime(now, undefined, now - F), now - F)
  assert.equal(firstRecordTime(now, undefined, now - F - 1), now, 'a clock set back further is not followed')
})

test('a chain.resume is no earlier than the record it continues after, within the same minute\'s bound', () => {
  assert.equal(firstRecordTime(now, now - 86_400_000, now - 300), now - 300, 'an old seal does not matter')
  assert.equal(firstRecordTime(now, now + 2000, now - 300), now + 2000, 'the previous writer\'s clock was ahead: never earlier than its last record')
  assert.equal(firstRecordTime(now, now + F, undefined), now + F)
  assert.equal(firstRecordTime(now, now + F + 1, undefined), now, 'more than a minute ahead of the start: not followed')
})

test('a record\'s time is its top-level numeric time (the last one, as JSON parsers read it), else none', () => {
  assert.equal(recordTime('{"level":30,"time":1764100800000,"msg":"x"}'), 1764100800000)
  assert.equal(recordTime('{"time":1,"time":2}'), 2)
  assert.equal(recordTime('{"time":"2025-11-25T20:00:00.000Z"}'), undefined)
  assert.equal(recordTime('{"nested":{"time":5}}'), undefined)
  assert.equal(recordTime('not json'), undefined)
  assert.equal(recordTime(undefined), undefined)
})
