/** A clock tests can move: pass `now` as the deps' clock, then `advance` it. */
export function clock(start = Date.UTC(2026, 10, 25, 12)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}
