// Coalesces updates into one DOM pass per animation frame: a busy hub can
// send many readings per frame, and a hidden tab then does no work at all.

/**
 * @param {(dirty: Set<string>, everything: boolean) => void} flush
 *        called once per frame with the names marked since the last call
 */
export function createRenderQueue(flush) {
  const dirty = new Set();
  let everything = false;
  let frame = 0;

  function run() {
    frame = 0;
    const names = new Set(dirty);
    const all = everything;
    dirty.clear();
    everything = false;
    flush(names, all);
  }

  function request() {
    frame ||= requestAnimationFrame(run);
  }

  return {
    /** Marks one device for the next pass. */
    device(name) {
      dirty.add(name);
      request();
    },
    /** Marks everything (a new snapshot, a page shown again). */
    all() {
      everything = true;
      request();
    },
    cancel() {
      cancelAnimationFrame(frame);
      frame = 0;
      dirty.clear();
      everything = false;
    },
  };
}
