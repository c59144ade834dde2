import Foundation

/// Ctrl-C, SIGTERM (schedulers, `timeout` and mpirun send it) and SIGHUP (a closed
/// terminal) for long runs, handled the same way at any moment: the first signal sets a flag
/// that the training loop checks between steps (and before the first one) and evaluation
/// between chunks, so the run can write its checkpoint and exit with 128 + the signal's number. Later signals are ignored: they cannot cut the checkpoint
/// write short. (SIGKILL still ends a run that hangs.)
public enum Interrupt {
    nonisolated(unsafe) static var signalNumber: sig_atomic_t = 0

    public static var requested: Bool { signalNumber != 0 }
    /// 130 after SIGINT, 143 after SIGTERM, 129 after SIGHUP.
    public static var exitCode: Int32 { 128 + Int32(signalNumber) }
    public static var signalName: String {
        signalNumber == SIGTERM ? "SIGTERM" : signalNumber == SIGINT ? "Ctrl-C" : signalNumber == SIGHUP ? "SIGHUP"
            : "another rank's signal"
    }

    /// Call as early as possible: a signal during start-up or data loading is kept too.
    public static func install() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { received in
                if Interrupt.signalNumber == 0 { Interrupt.signalNumber = received }
            }
        }
    }
}
