/// A source the sampler reads on every tick, on its tick thread: the /proc reader, and
/// after it any other (e.g. perf_event ring buffers read at the sampler's frequency).
/// Each reads what is due at `tick.monotonicTime` into the tick; a later reader sees what
/// the earlier ones read (the groups' selected processes, `selectionGeneration`, the
/// interval) and adds its own samples with `SampleTick.append`.
///
/// Readers run one after the other on the thread whose schedule they share: they must not
/// block, and should not allocate on an ordinary tick.
public protocol TickReader: AnyObject {
    func read(_ tick: inout SampleTick)
}
