// A TCP proxy on 127.0.0.1 in front of the test server, for what a network does to a connection
// at the worst moment: it forwards both ways, and once armed it acts on the first chunk the client
// sends that holds a marker (a statement's text): `dropAnswerAndCut` forwards it, waits for the
// server's answer, drops it and cuts the connection (a COMMIT whose answer is lost);
// `withholdAnswers` forwards it and never forwards anything back (a hung server). Connections
// made later are forwarded normally. Plain TCP only: connect with sslmode=disable.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class LoopbackProxy: @unchecked Sendable {  // mutable state under `lock`
    enum Fault { case dropAnswerAndCut, withholdAnswers }

    /// The port the proxy listens on (127.0.0.1).
    let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let lock = NSLock()
    private var armed: (marker: [UInt8], fault: Fault)?
    private var injected: [Fault] = []
    private var sockets: Set<Int32> = []
    private var isClosed = false
    private let threads = DispatchGroup()

    /// Listens on a free port of 127.0.0.1 and forwards each connection to 127.0.0.1:`targetPort`.
    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket") }
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let error = Self.failure("bind/listen")
            Glibc.close(fd)
            throw error
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        spawn { [self] in acceptLoop() }
    }

    deinit { close() }

    /// The next chunk from a client that holds `marker` gets `fault` (once).
    func arm(_ fault: Fault, after marker: String) {
        lock.lock()
        armed = (Array(marker.utf8), fault)
        lock.unlock()
    }

    /// The faults done so far, in order.
    var faults: [Fault] {
        lock.lock()
        defer { lock.unlock() }
        return injected
    }

    /// Stops listening, cuts every connection and waits for the proxy's threads to end.
    func close() {
        lock.lock()
        let wasClosed = isClosed
        isClosed = true
        if !wasClosed {
            shutdown(listener, Int32(SHUT_RDWR))
            for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }  // under the lock: none is closed meanwhile
        }
        lock.unlock()
        guard !wasClosed else { return }
        threads.wait()
        Glibc.close(listener)
    }

    // MARK: - Forwarding

    /// One proxied connection and the fault it was given, if any. Its two sockets are closed
    /// once both directions have ended (never earlier: a number closed may be reused at once).
    private final class Link: @unchecked Sendable {  // state under `lock`
        let client: Int32, server: Int32
        private let lock = NSLock()
        private var faultValue: Fault?
        private var running = 2
        init(client: Int32, server: Int32) { self.client = client; self.server = server }
        var fault: Fault? {
            get { lock.lock(); defer { lock.unlock() }; return faultValue }
            set { lock.lock(); faultValue = newValue; lock.unlock() }
        }
        /// One direction has ended; true when it was the last (then both sockets are closed).
        func done() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            running -= 1
            guard running == 0 else {
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(server, Int32(SHUT_RDWR))
                return false
            }
            Glibc.close(client)
            Glibc.close(server)
            return true
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // shut down by close()
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            lock.lock()
            let closing = isClosed
            if !closing && connected == 0 { sockets.formUnion([client, server]) }
            lock.unlock()
            guard !closing, connected == 0 else {
                Glibc.close(client)
                Glibc.close(server)
                continue
            }
            let link = Link(client: client, server: server)
            spawn { [self] in forwardRequests(link) }
            spawn { [self] in forwardAnswers(link) }
        }
    }

    /// Client to server; a chunk holding the armed marker gives the link its fault.
    private func forwardRequests(_ link: Link) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(link.client, &buffer, buffer.count)
            guard count > 0 else { break }
            let chunk = buffer[0..<count]
            lock.lock()
            if let (marker, fault) = armed, Self.contains(chunk, marker) {
                armed = nil
                injected.append(fault)
                link.fault = fault
            }
            lock.unlock()
            guard Self.writeAll(link.server, chunk) else { break }
        }
        finish(link)
    }

    /// Server to client, unless the link's fault says otherwise.
    private func forwardAnswers(_ link: Link) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        forwarding: while true {
            let count = read(link.server, &buffer, buffer.count)
            guard count > 0 else { break }
            switch link.fault {
            case .dropAnswerAndCut?:
                break forwarding  // the statement ran: its answer is dropped with the connection
            case .withholdAnswers?:
                continue forwarding
            case nil:
                guard Self.writeAll(link.client, buffer[0..<count]) else { break forwarding }
            }
        }
        finish(link)
    }

    private func finish(_ link: Link) {
        lock.lock()
        if link.done() { sockets.subtract([link.client, link.server]) }
        lock.unlock()
    }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        threads.enter()
        let thread = Thread { [threads] in
            body()
            threads.leave()
        }
        thread.start()
    }

    // MARK: - Helpers

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func writeAll(_ socket: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let written = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private static func contains(_ chunk: ArraySlice<UInt8>, _ marker: [UInt8]) -> Bool {
        guard !marker.isEmpty, chunk.count >= marker.count else { return false }
        var start = chunk.startIndex
        while start + marker.count <= chunk.endIndex {
            if chunk[start..<(start + marker.count)].elementsEqual(marker) { return true }
            start += 1
        }
        return false
    }

    private static func failure(_ call: String) -> NSError {
        NSError(domain: "LoopbackProxy", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(call): \(String(cString: strerror(errno)))"])
    }
}
