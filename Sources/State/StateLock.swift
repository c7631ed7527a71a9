import Foundation
import Synchronization

/// One mixer-sync at a time per state directory: an exclusive `flock` on `STATE/lock`, held until release or exit.
public final class StateLock: @unchecked Sendable {
    private let fd: Int32
    private let path: String

    /// The lock files this process holds now: a second holder in the same process is refused at once.
    private static let held = Mutex<Set<String>>([])

    /// Throws when another process holds the lock (its PID, when it wrote one, is in the message).
    ///
    /// A child this process is starting (posix_spawn) holds a copy of every descriptor until its `exec` closes
    /// the close-on-exec ones, the lock's included: a lock this process released a moment ago can still look
    /// held by "this PID" for those few milliseconds. Only that case is waited out (up to `spawnWindow`).
    public init(directory: String, spawnWindow: TimeInterval = 3) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/lock"
        self.path = path
        let ownPid = "\(getpid())"
        let taken = Self.held.withLock { $0.insert(path).inserted }
        guard taken else { throw StateError("another mixer-sync holds \(path) (pid \(ownPid), this process)") }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            _ = Self.held.withLock { $0.remove(path) }
            throw StateError("cannot open \(path): \(why)")
        }
        let deadline = Date().addingTimeInterval(spawnWindow)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if code == EWOULDBLOCK, holder == ownPid, Date() < deadline {
                usleep(5_000)
                continue
            }
            close(fd)
            _ = Self.held.withLock { $0.remove(path) }
            if code != EWOULDBLOCK { throw StateError("cannot lock \(path): \(String(cString: strerror(code)))") }
            throw StateError("another mixer-sync holds \(path)\(holder.isEmpty ? "" : " (pid \(holder))")")
        }
        ftruncate(fd, 0)
        let pid = ownPid + "\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        // Out of the set first: a taker that comes in before the close waits the few microseconds out.
        _ = Self.held.withLock { $0.remove(path) }
        close(fd)
    }
}
