// mapStorageError: quota in every shape Dexie and browsers report it, two-tab errors, passthrough.
import { Dexie } from 'dexie';
import { describe, expect, it } from 'vitest';
import {
  isQuotaError,
  mapStorageError,
  QUOTA_MESSAGE,
  RELOAD_MESSAGE,
  withStorageErrors,
} from '../../src/store/errors';
import { GlimpseError } from '../../src/shared/errors';

const quotaDom = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');

describe('mapStorageError', () => {
  it('maps a Dexie AbortError with a QuotaExceededError inside to quota-exceeded', () => {
    const err = new Dexie.AbortError('Transaction aborted', quotaDom());
    expect(err.name).toBe('AbortError');
    const mapped = mapStorageError(err);
    expect(mapped).toBeInstanceOf(GlimpseError);
    expect(mapped.code).toBe('quota-exceeded');
    expect(mapped.message).toBe(QUOTA_MESSAGE);
    expect(mapped.message).toMatch(/full/);
    expect(mapped.message).toMatch(/nothing saved earlier was lost/i);
    expect(mapped.message).toMatch(/export/);
    expect(mapped.message).toMatch(/delete some samples/);
    expect(mapped.message).toMatch(/original images/);
  });

  it('maps a plain DOMException QuotaExceededError, and Firefox / legacy forms', () => {
    expect(mapStorageError(quotaDom()).code).toBe('quota-exceeded');
    expect(mapStorageError({ name: 'NS_ERROR_DOM_QUOTA_REACHED', message: '' }).code).toBe(
      'quota-exceeded',
    );
    expect(mapStorageError({ name: 'Error', code: 22 }).code).toBe('quota-exceeded');
  });

  it('finds quota inside nested Dexie errors and bulk failures', () => {
    const nested = new Dexie.OpenFailedError('open', new Dexie.AbortError('abort', quotaDom()));
    expect(mapStorageError(nested).code).toBe('quota-exceeded');
    const bulk = new Dexie.BulkError('1 of 3 failed', { 1: quotaDom() });
    expect(mapStorageError(bulk).code).toBe('quota-exceeded');
    expect(isQuotaError(bulk)).toBe(true);
  });

  it('does not call a plain abort (user cancel) a quota error', () => {
    expect(mapStorageError(new Dexie.AbortError('Transaction aborted')).code).toBe('internal');
    expect(mapStorageError(new DOMException('x', 'AbortError')).code).toBe('internal');
    expect(isQuotaError(new Error('boom'))).toBe(false);
  });

  it('asks for a reload when another tab has a newer schema or closed this connection', () => {
    for (const err of [
      new Dexie.VersionError('newer'),
      new DOMException('The requested version is less than the existing version', 'VersionError'),
      new Dexie.OpenFailedError('open failed', new DOMException('x', 'VersionError')),
      new Dexie.DatabaseClosedError('closed'),
    ]) {
      const mapped = mapStorageError(err);
      expect(mapped.code).toBe('internal');
      expect(mapped.message).toBe(RELOAD_MESSAGE);
    }
  });

  it('passes GlimpseErrors through and wraps anything else', async () => {
    const own = new GlimpseError('invalid-input', 'bad');
    expect(mapStorageError(own)).toBe(own);
    expect(mapStorageError('weird').code).toBe('internal');
    expect(mapStorageError(null).message).toMatch(/null/);
    expect(mapStorageError(new Dexie.MissingAPIError('no idb')).message).toMatch(/private/);
    await expect(withStorageErrors(() => Promise.reject(quotaDom()))).rejects.toMatchObject({
      code: 'quota-exceeded',
    });
    await expect(withStorageErrors(() => Promise.resolve(3))).resolves.toBe(3);
  });
});
