/**
 * Geo-velocity between this sign-in and the previous successful one (README.md "Travel"):
 *
 *   distance = haversine(previous, current) − accuracy(previous) − accuracy(current), at least 0 (km)
 *   speed    = distance / max(elapsed hours, floor)
 *
 * graded `travel` (a long but ordinary trip), `substantial_travel` (only a fast train or a plane) and
 * `impossible_travel` (faster than any passenger could go). Not a novelty signal: it counts while learning.
 */
import type { Contribution, RiskFacts } from '../types.ts';
import { THRESHOLDS } from '../weights.ts';

const EARTH_RADIUS_KM = 6371.0088;

export interface Point {
  readonly latitude: number;
  readonly longitude: number;
}

/** Great-circle distance in km. */
export function haversineKm(a: Point, b: Point): number {
  const rad = (deg: number): number => (deg * Math.PI) / 180;
  const dLat = rad(b.latitude - a.latitude);
  const dLon = rad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export type TravelGrade = 'none' | 'travel' | 'substantial' | 'impossible';

export interface TravelMeasure {
  readonly distanceKm: number;
  /** Distance beyond both locations' uncertainty. */
  readonly netDistanceKm: number;
  readonly elapsedHours: number;
  readonly speedKmh: number;
  readonly grade: TravelGrade;
}

export function measureTravel(
  from: Point & { readonly accuracyKm: number },
  to: Point & { readonly accuracyKm: number },
  elapsedMs: number,
  t: typeof THRESHOLDS.travel = THRESHOLDS.travel,
): TravelMeasure {
  const distanceKm = haversineKm(from, to);
  const netDistanceKm = Math.max(0, distanceKm - from.accuracyKm - to.accuracyKm);
  const elapsedHours = Math.max(0, elapsedMs) / 3_600_000;
  const speedKmh = netDistanceKm / Math.max(elapsedHours, t.floorHours);
  let grade: TravelGrade = 'none';
  if (speedKmh > t.impossibleKmh) grade = 'impossible';
  else if (speedKmh > t.substantialKmh) grade = 'substantial';
  else if (netDistanceKm >= t.minDistanceKm) grade = 'travel';
  return { distanceKm, netDistanceKm, elapsedHours, speedKmh, grade };
}

const round = (n: number): number => Math.round(n);

export function travelRule(facts: RiskFacts): Contribution[] {
  const { location, recent, weights, now } = facts;
  const previous = recent.find((r) => r.latitude !== undefined && r.longitude !== undefined);
  if (!location || previous?.latitude === undefined || previous.longitude === undefined) return [];
  const m = measureTravel(
    { latitude: previous.latitude, longitude: previous.longitude, accuracyKm: previous.accuracyKm ?? location.accuracyKm },
    location,
    now.getTime() - previous.at.getTime(),
  );
  if (m.grade === 'none') return [];
  const details = {
    from: previous.country ?? null,
    to: location.country,
    distanceKm: round(m.distanceKm),
    netDistanceKm: round(m.netDistanceKm),
    elapsedMinutes: round(m.elapsedHours * 60),
    speedKmh: round(m.speedKmh),
  };
  const [code, points] =
    m.grade === 'impossible'
      ? ['impossible_travel', weights.impossibleTravel]
      : m.grade === 'substantial'
        ? ['substantial_travel', weights.substantialTravel]
        : ['travel', weights.travel];
  return [{ signal: 'travel', points, code, details }];
}
