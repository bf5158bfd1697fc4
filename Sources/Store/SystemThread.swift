// A thread that says when it could not start. Foundation's `Thread.start()` does not: when the
// system refuses a thread (under an address-space limit, `ulimit -v`, or a limit on processes),
// the body silently never runs, and whoever waits for it (the epoch writer's queue, the worker's
// threads) waits for ever. Used for the epoch writer, the worker's training threads and the
// dashboard's database threads.
import Foundation

public enum SystemThread {
    /// The system refused a new thread: said with its reason and what to change.
    public struct Refused: Error, CustomStringConvertible {
        public let purpose: String
        public let code: Int32
        public var description: String {
            "could not start a thread for \(purpose): the system refused one (\(String(cString: strerror(code)))); "
                + "under a memory limit (ulimit -v, ulimit -d) or a limit on processes (ulimit -u), raise it (or give runner fewer --jobs)"
        }
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Runs `body` on a new detached thread named `name` (as debuggers show it) with `stackSize` bytes of stack.
    /// - Throws: `Refused` (naming `purpose`) when the system refuses the thread; `body` then never runs.
    public static func start(for purpose: String, name: String, stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) throws {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Body {
            Thread.current.name = name
            body()
        }).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, &attributes, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw Refused(purpose: purpose, code: code)
        }
    }
}
