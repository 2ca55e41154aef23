/* The one clock seam of vigil. Every module asks these functions for the
 * time (never clock_gettime directly), so a test can drive time by hand.
 * @thread any; the fake clock is process-wide and meant for tests that set
 * it before starting the code under test. */
#ifndef CORE_CLOCK_H
#define CORE_CLOCK_H

/* Monotonic seconds (intervals, timeouts, rate limits). */
double clock_mono(void);
/* Wall-clock seconds since the Unix epoch (log stamps, Kafka timestamps,
 * data time of points that carry none). */
double clock_wall(void);

/* The real monotonic clock, never faked: for waits on condition variables
 * (CLOCK_MONOTONIC), which run on real time whatever a test does. */
double clock_mono_real(void);

/* Tests: freeze both clocks at the given values (clock_wall() returns wall,
 * clock_mono() returns mono) until clock_fake_off(). clock_fake_advance()
 * moves both forward by dt seconds. */
void clock_fake_set(double mono, double wall);
void clock_fake_advance(double dt);
void clock_fake_off(void);

#endif
