import { describe, expect, it } from 'vitest';
import { divCeil, divFloor, formatQuote, formatUnits, parseUnits, priceDecimals, roundToTick } from '../src/lib/fixed';
import { parseJson } from '../src/lib/json';
import { describeError, REJECT_MESSAGES } from '../src/lib/errors';
import { readFileSync } from 'node:fs';

describe('fixed point', () => {
  it('rounds like fixed.rs', () => {
    expect(divFloor(7n, 2n)).toBe(3n);
    expect(divFloor(-7n, 2n)).toBe(-4n);
    expect(divCeil(7n, 2n)).toBe(4n);
    expect(divCeil(-7n, 2n)).toBe(-3n);
    expect(divCeil(6n, 2n)).toBe(3n);
  });

  it('parses and formats without floats', () => {
    expect(parseUnits('100.16', 6)).toBe(100_160_000n);
    expect(parseUnits('0.0000001', 6)).toBeNull();
    expect(parseUnits('12', 0)).toBe(12n);
    expect(parseUnits('abc', 6)).toBeNull();
    expect(formatQuote(1_234_567_891n)).toBe('1,234.56');
    expect(formatQuote(-5_000n, 4)).toBe('-0.0050');
    expect(formatUnits(123n, 0, 0)).toBe('123');
    expect(priceDecimals(10_000n)).toBe(2);
    expect(roundToTick(100_155_000n, 10_000n, false)).toBe(100_150_000n);
    expect(roundToTick(100_155_000n, 10_000n, true)).toBe(100_160_000n);
  });

  it('keeps wide JSON integers exact', () => {
    const value = parseJson<any>('{"a": 170141183460469231731687303715884105727, "b": -12, "s": "9007199254740993 \\" 1", "c": 1.5}');
    expect(value.a).toBe('170141183460469231731687303715884105727');
    expect(value.b).toBe(-12);
    expect(value.s).toBe('9007199254740993 " 1');
    expect(value.c).toBe(1.5);
  });

  it('has a message for every RejectReason in engine/core/src/error.rs', () => {
    const source = readFileSync(new URL('../../engine/core/src/error.rs', import.meta.url), 'utf8');
    const body = source.slice(source.indexOf('pub enum RejectReason'), source.indexOf('impl fmt::Display for RejectReason'));
    const names = [...body.matchAll(/^\s{4}([A-Z][A-Za-z]+),$/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(25);
    for (const name of names) expect(REJECT_MESSAGES[name], name).toBeTruthy();
    const api = readFileSync(new URL('../../engine/service/src/api/mod.rs', import.meta.url), 'utf8');
    const codes = api.slice(api.indexOf('pub enum ErrorCode'), api.indexOf('/// Every error body'));
    for (const [, name] of codes.matchAll(/^\s{4}([A-Z][A-Za-z]+),$/gm)) {
      const snake = name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
      expect(describeError(snake), snake).not.toBe(snake);
    }
  });
});
