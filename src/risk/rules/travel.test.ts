import { describe, expect, it } from 'vitest';
import { NOW, PARIS, SYDNEY, facts } from './testing.ts';
import { haversineKm, measureTravel, travelRule } from './travel.ts';

const MIN = 60_000;
const HOUR = 3_600_000;

describe('haversineKm', () => {
  it('measures known great-circle distances', () => {
    expect(haversineKm(PARIS, SYDNEY)).toBeCloseTo(16_960, -2);
    expect(haversineKm({ latitude: 51.5072, longitude: -0.1276 }, PARIS)).toBeCloseTo(344, -1);
    expect(haversineKm(PARIS, PARIS)).toBe(0);
  });
});

describe('measureTravel', () => {
  const LYON = { latitude: 45.764, longitude: 4.8357, accuracyKm: 100 };
  const NEW_YORK = { latitude: 40.7128, longitude: -74.006, accuracyKm: 100 };
  const paris = { ...PARIS, accuracyKm: 100 };

  it('takes both uncertainties off the distance', () => {
    const m = measureTravel(paris, LYON, 10 * MIN);
    expect(m.distanceKm).toBeCloseTo(392, -1);
    expect(m.netDistanceKm).toBeCloseTo(192, -1);
  });

  it('floors elapsed time at one hour, so a short hop is never supersonic', () => {
    expect(measureTravel(paris, LYON, 1000).grade).toBe('none');
    expect(measureTravel(paris, LYON, 1000).speedKmh).toBeCloseTo(192, -1);
  });

  it('grades travel, substantial and impossible', () => {
    expect(measureTravel(paris, NEW_YORK, 30 * HOUR).grade).toBe('travel');
    expect(measureTravel(paris, NEW_YORK, 10 * HOUR).grade).toBe('substantial');
    expect(measureTravel(paris, NEW_YORK, 5 * HOUR).grade).toBe('impossible');
    expect(measureTravel(paris, { ...SYDNEY, accuracyKm: 100 }, 10 * MIN).grade).toBe('impossible');
  });

  it('forgives wide uncertainty', () => {
    expect(measureTravel({ ...paris, accuracyKm: 1000 }, { ...LYON, accuracyKm: 1000 }, 0).grade).toBe('none');
  });
});

describe('travelRule', () => {
  it('reports impossible travel from the previous located sign-in', () => {
    const [c] = travelRule(facts({ location: SYDNEY, recent: [{ at: new Date(NOW.getTime() - 10 * MIN), ip: 'x', network: 'x', ...PARIS }] }));
    expect(c).toMatchObject({ signal: 'travel', code: 'impossible_travel', points: 60, details: { from: 'FR', to: 'AU', elapsedMinutes: 10 } });
  });

  it('is quiet without a previous location or a current one', () => {
    expect(travelRule(facts({ recent: [] }))).toEqual([]);
    expect(travelRule(facts({ location: undefined }))).toEqual([]);
  });

  it('counts during the learning period (not a novelty signal)', () => {
    expect(travelRule(facts({ learning: true, location: SYDNEY }))[0]?.points).toBe(60);
  });
});
