/**
 * V8 heap settings, applied before anything else is loaded (main.ts imports this first).
 *
 * Under load, request objects that outlive a scavenge are promoted and die in the old generation, and V8
 * lets the old generation grow up to four times the live heap before it collects it: with a live heap of
 * about 60 MB a busy node sat at 190 MB of heap, and its resident memory followed. Growing the heap by at
 * most half of what survives keeps it within about 1.5 times the live data, for a few more (concurrent)
 * mark-compact cycles.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--heap-growing-percent=50');
