import Foundation

/// Ctrl-C handling for long runs: the first SIGINT sets a flag that the training loop
/// checks between steps (so it can checkpoint and exit cleanly); a second one exits.
public enum Interrupt {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0

    public static var requested: Bool { flag != 0 }

    public static func install() {
        signal(SIGINT) { _ in
            if Interrupt.flag != 0 { _exit(130) }
            Interrupt.flag = 1
        }
    }
}
